"""A local lab's loopback ports must lie outside the machine's ephemeral port range: there the
kernel gives ports to outgoing connections, so a lab service could find its port held by any
connection of any process when it starts (CI found it: a web console of a lab at base port
33100 never listened). `lab up` refuses such a topology before it touches anything, naming the
field, the ports, the range and a base port that fits."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from carbonlab.cli import main
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.ports import PortPlan, check_outside_ephemeral, plan
from carbonlab.lab.topology import DEFAULT_BASE_PORT, DEFAULT_TOPOLOGY, Topology, load
from carbonlab.loopback import LINUX_EPHEMERAL, ephemeral_range

LINUX = LINUX_EPHEMERAL


def _topology(tmp_path: Path, base_port: int, ports_per_host: int = 40) -> Topology:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    raw["local"] = {"base_port": base_port, "ports_per_host": ports_per_host}
    raw["lab_id"] = "teph"
    raw["chain_id"] = "carbonlab-teph"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load(path)


def _loopback(topo: Topology) -> PortPlan:
    return plan(topo, {h.id: "127.0.0.1" for h in topo.hosts}, loopback_ports=True)


def test_the_default_topology_lies_below_the_linux_default_range() -> None:
    topo = load(DEFAULT_TOPOLOGY)
    assert topo.local.base_port == DEFAULT_BASE_PORT
    check_outside_ephemeral(topo, _loopback(topo), LINUX)


def test_a_block_inside_the_range_is_refused_naming_field_ports_range_and_a_fix(tmp_path: Path) -> None:
    topo = _topology(tmp_path, 33000)
    with pytest.raises(TopologyError) as err:
        check_outside_ephemeral(topo, _loopback(topo), LINUX)
    assert err.value.field == "local.base_port"
    ports = sorted(_loopback(topo).ports.values())
    assert f"ports {ports[0]}-{ports[-1]}" in err.value.problem
    assert "ephemeral port range 32768-60999" in err.value.problem
    assert f"the default {DEFAULT_BASE_PORT} does" in err.value.problem
    assert str(topo.path) in str(err.value)


def test_a_block_that_only_reaches_into_the_range_is_refused_for_those_ports(tmp_path: Path) -> None:
    topo = _topology(tmp_path, 32700)
    inside = sorted(p for p in _loopback(topo).ports.values() if p >= LINUX[0])
    assert inside, "the block must reach past 32768 for this test"
    with pytest.raises(TopologyError, match=f"ports {inside[0]}-{inside[-1]} fall in"):
        check_outside_ephemeral(topo, _loopback(topo), LINUX)


def test_above_the_range_is_fine_and_a_wide_range_asks_to_narrow_it(tmp_path: Path) -> None:
    topo = _topology(tmp_path, 61000)
    check_outside_ephemeral(topo, _loopback(topo), LINUX)
    with pytest.raises(TopologyError, match=r"above 65535, or narrow the range \(sysctl net.ipv4"):
        check_outside_ephemeral(topo, _loopback(topo), (1024, 65535))


def test_a_range_that_leaves_no_room_for_the_default_suggests_a_base_that_fits(tmp_path: Path) -> None:
    topo = _topology(tmp_path, 21000)
    size = len(topo.hosts) * 40
    with pytest.raises(TopologyError, match=f"e.g. {15000 - size}$"):
        check_outside_ephemeral(topo, _loopback(topo), (15000, 60999))


def test_the_range_is_read_from_the_kernel_or_linux_default(tmp_path: Path) -> None:
    lo, hi = ephemeral_range()
    assert 1 <= lo <= hi <= 65535
    odd = tmp_path / "range"
    odd.write_text("40000\t50000\n")
    assert ephemeral_range(odd) == (40000, 50000)
    odd.write_text("garbage")
    assert ephemeral_range(odd) == LINUX
    assert ephemeral_range(tmp_path / "absent") == LINUX


def test_lab_up_refuses_before_it_touches_anything(tmp_path: Path) -> None:
    lo, _hi = ephemeral_range()
    topo = _topology(tmp_path, lo + 100)
    lab_dir = tmp_path / "lab"
    with pytest.raises(TopologyError, match=r"local\.base_port"):
        Lab(topo, lab_dir, progress=lambda _line: None).up()
    assert not (lab_dir / "hosts").exists()
    assert not (lab_dir / "logs").exists()
    out, errs = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(errs):
        rc = main(["lab", "up", str(topo.path), "--lab-dir", str(lab_dir)])
    assert rc != 0
    assert "local.base_port" in errs.getvalue()
    assert "ephemeral port range" in errs.getvalue()
    assert not (lab_dir / "hosts").exists()
