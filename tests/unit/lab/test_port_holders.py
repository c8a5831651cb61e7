"""A local lab's ports held by anything but its own processes are refused before `up` makes
anything (lab/port_holders.py): another lab of the same block (a second lab directory of one
topology) used to answer the new lab's port waits and health checks, and `up` said healthy of a
lab whose own services could not listen. Real sockets and real processes, on loopback."""

from __future__ import annotations

import io
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from carbonlab.cli import main
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.port_holders import check_ports_free, held_ports, holders, in_use, lab_dir_of
from carbonlab.lab.ports import PortPlan, plan
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, Topology, load

HOLD = ("import socket, sys, time\n"
        "s = socket.socket()\n"
        "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
        "s.listen(8)\n"
        "print('listening', flush=True)\n"
        "time.sleep(120)\n")


def _free_block(tmp_path: Path) -> tuple[Topology, PortPlan]:
    """The default topology on a block of loopback ports below the ephemeral range that is
    free right now (a few random tries)."""
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    for _ in range(20):
        raw["local"] = {"base_port": random.randrange(22000, 26000, 20), "ports_per_host": 20}
        raw["lab_id"], raw["chain_id"] = "thold", "carbonlab-thold"
        path = tmp_path / "t.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        topo = load(path)
        ports = plan(topo, {h.id: "127.0.0.1" for h in topo.hosts}, loopback_ports=True)
        if not any(in_use("127.0.0.1", p) for p in ports.ports.values()):
            return topo, ports
    raise AssertionError("no free block of loopback ports found")


@contextmanager
def _held_by_process(port: int, *argv: str) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen([sys.executable, "-c", HOLD, str(port), *argv], stdout=subprocess.PIPE,
                          text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "listening"
            yield proc
        finally:
            proc.kill()
            proc.wait(30)


@contextmanager
def _held_here(port: int) -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        yield


def test_a_free_block_passes(tmp_path: Path) -> None:
    topo, ports = _free_block(tmp_path)
    check_ports_free(topo, ports, tmp_path / "lab")


def test_a_port_held_by_another_program_is_named_with_its_service_and_pid(tmp_path: Path) -> None:
    topo, ports = _free_block(tmp_path)
    port = ports.port("node3", "n3-api")
    with _held_here(port):
        assert holders(port) == (holders(port)[0],)
        assert holders(port)[0].pid == os.getpid()
        with pytest.raises(TopologyError) as caught:
            check_ports_free(topo, ports, tmp_path / "lab")
    text = str(caught.value)
    assert "local.base_port" in text
    assert f"port {port} (n3-api of node3) on 127.0.0.1 is in use by PID {os.getpid()} (" in text
    assert "would answer the lab's health checks" in text
    assert "stop that program or choose a base_port whose block is free" in text


def test_every_held_port_is_counted(tmp_path: Path) -> None:
    topo, ports = _free_block(tmp_path)
    first, second = ports.port("node1", "n1-api"), ports.port("node2", "n2-api")
    with _held_here(first), _held_here(second):
        assert [h.port for h in held_ports(ports, tmp_path / "lab")] == [first, second]
        with pytest.raises(TopologyError, match=rf"\(and 1 more of its ports: {second}\)"):
            check_ports_free(topo, ports, tmp_path / "lab")


def test_ports_of_two_holders_are_each_named_with_their_own(tmp_path: Path) -> None:
    """An outsider's find: with one process on 24011 and another on 24021, the error said "in
    use by PID 32715 (...) (and 1 more of its ports: 24021)": every held port was the first's."""
    topo, ports = _free_block(tmp_path)
    first, second, third = (ports.port(h, f"n{i}-api") for i, h in ((1, "node1"), (2, "node2"), (3, "node3")))
    with _held_by_process(first) as one, _held_by_process(second) as two, _held_by_process(third, "x"), \
            pytest.raises(TopologyError) as refused:
        check_ports_free(topo, ports, tmp_path / "lab")
    text = str(refused.value)
    assert f"port {first} (n1-api of node1) on 127.0.0.1 is in use by PID {one.pid} (" in text
    assert f"; port {second} (n2-api of node2) on 127.0.0.1 is in use by PID {two.pid} (" in text
    assert f"; port {third} (n3-api of node3)" in text
    assert "more of its ports" not in text


def test_a_port_held_by_the_labs_own_process_is_fine(tmp_path: Path) -> None:
    """A converging `up`: the lab's own services hold their ports (their command lines name
    the lab directory, as every local service's does)."""
    topo, ports = _free_block(tmp_path)
    lab_dir = tmp_path / "lab"
    port = ports.port("node1", "n1-api")
    with _held_by_process(port, "--config", f"{lab_dir}/hosts/node1/etc/node-n1.toml"):
        assert held_ports(ports, lab_dir) == []
        check_ports_free(topo, ports, lab_dir)


def test_another_labs_service_names_that_lab_and_how_to_take_it_down(tmp_path: Path) -> None:
    topo, ports = _free_block(tmp_path)
    other = tmp_path / "other-lab"
    other.mkdir()
    (other / "state.json").write_text("{}")
    port = ports.port("node1", "n1-p2p")
    config = f"{other}/hosts/node1/etc/node-n1.toml"
    assert lab_dir_of(f"python -m carbonlab node --config {config}") == other
    assert lab_dir_of("python -m http.server") is None
    lab_dir = tmp_path / "lab"
    with _held_by_process(port, "--config", config) as proc:
        with pytest.raises(TopologyError) as caught:
            Lab(topo, lab_dir, "local", progress=lambda _line: None).up()
        text = str(caught.value)
        assert f"in use by PID {proc.pid} (" in text
        assert f"they are the services of the lab in {other}" in text
        assert f"`carbonlab lab down --lab-dir {other}`" in text
        assert not (lab_dir / "hosts").exists()                 # refused before anything
        out, errs = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(errs):
            rc = main(["lab", "up", str(topo.path), "--lab-dir", str(lab_dir)])
        assert rc == 2
        assert f"port {port} (n1-p2p of node1)" in errs.getvalue()
    assert not (lab_dir / "hosts").exists()
