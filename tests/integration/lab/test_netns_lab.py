"""The netns provider for real (root): hosts with sshd only, SIGKILL of `lab up` at any point,
the ssh provider on machines it did not make; `lab down` must always leave nothing behind. The
default topology end to end on netns runs on the rig catalogue's lab, before its first scenario
(tests/hil/test_rig_default_lab.py; `./dev test` under CI=true), not on a lab of its own here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from carbonlab.lab.errors import ProviderError, StepError
from carbonlab.lab.health import PrometheusState
from carbonlab.lab.lifecycle import Lab
from carbonlab.lab.proc import end
from carbonlab.lab.providers.netns import NetnsProvider
from carbonlab.lab.resources import HostProcess
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology, load
from tests.integration.lab.conftest import (
    CARBONLAB,
    SMALL,
    lab_cmd,
    lab_subnet,
    leftovers,
    topology_copy,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="the netns provider needs root (namespaces, mounts)"),
    pytest.mark.skipif(shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists(),
                       reason="openssh-server is not installed"),
]


@pytest.fixture
def lab_dir() -> Iterator[Path]:
    # Short and world-traversable: ssh control sockets live inside (108-byte socket paths).
    path = Path(tempfile.mkdtemp(prefix="cl", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _down(topology: Path, lab_dir: Path) -> None:
    done = lab_cmd("down", str(topology), "--lab-dir", str(lab_dir), timeout_s=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _provider(topo: Topology, lab_dir: Path, cls: type[NetnsProvider] = NetnsProvider,
              progress: Callable[[str], None] = lambda _line: None) -> NetnsProvider:
    """A netns provider of `topo` over the (new) lab directory's state file."""
    state = LabState.load(lab_dir / "state.json")
    state.lab_id = topo.lab_id
    return cls(topo, lab_dir, state, progress)


def _ssh(lab_dir: Path, address: str, command: str) -> str:
    done = subprocess.run(
        ["ssh", "-i", str(lab_dir / "ssh" / "id_ed25519"), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={lab_dir / 'ssh' / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
         f"root@{address}", command], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_hosts_are_isolated_machines_with_sshd_and_leave_nothing(lab_dir: Path, tmp_path: Path) -> None:
    topo = load(topology_copy(SMALL, tmp_path / "t.yaml", lab_id="tnsh", provider="netns"))
    provider = _provider(topo, lab_dir)
    state = provider.state
    try:
        provider.create_hosts()
        provider.create_hosts()       # idempotent: the hosts already there are kept
        addrs = provider.addresses()
        out = _ssh(lab_dir, addrs["node2"],
                   "hostname; cat /proc/1/comm; ip route; touch /etc/carbonlab-probe; ls /proc | wc -l")
        lines = out.splitlines()
        assert lines[0] == "node2"
        assert lines[1] == "sshd"                      # sshd is the host's first process
        assert "unreachable default" in out            # nothing leaves the lab subnet
        assert not Path("/etc/carbonlab-probe").exists()   # /etc is the host's own overlay
        assert (lab_dir / "hosts" / "node2" / "upper" / "etc" / "carbonlab-probe").exists()
        # the hosts reach each other over the bridge
        reach = _ssh(lab_dir, addrs["node2"],
                     f"python3 -c \"import socket; socket.create_connection(('{addrs['node3']}', 22), 5)\""
                     " && echo reached")
        assert "reached" in reach
        # a host whose first process died comes back with its disk on the next `up`
        dead = [p for p in state.of_kind(HostProcess) if p.host == "node2"][-1]
        assert dead.pid is not None
        end(dead.pid, dead.started, term=False)
        provider.create_hosts()
        assert _ssh(lab_dir, addrs["node2"], "ls /etc/carbonlab-probe").strip() == "/etc/carbonlab-probe"
        subnet = lab_subnet(lab_dir)
        assert subnet
        # a fault table a killed rig left on the lab's bridge goes with the lab
        subprocess.run(["nft", "-f", "-"], input=f"table bridge clrig_{topo.lab_id}_partition_1 {{}}\n",
                       text=True, check=True, timeout=30)
        assert len(leftovers(topo.lab_id, lab_dir, subnet)) > 0
    finally:
        provider.destroy()
        provider.destroy()            # idempotent
    assert leftovers(topo.lab_id, lab_dir, subnet) == []


def test_a_second_lab_directory_of_the_same_lab_id_is_refused_and_the_first_left_whole(
        lab_dir: Path, tmp_path: Path) -> None:
    """Two lab directories of one lab id would share its kernel objects (namespaces, bridge,
    veths, nft table): the second `up` used to put its addresses into the first lab's hosts and
    its `down` removed them from under it (a CI run beside a running catalogue lab)."""
    topology = topology_copy(SMALL, tmp_path / "t.yaml", lab_id="tnso", provider="netns")
    topo = load(topology)
    first = _provider(topo, lab_dir)
    other = Path(tempfile.mkdtemp(prefix="cl", dir="/tmp"))
    subnet = None
    try:
        first.create_hosts()
        subnet = lab_subnet(lab_dir)
        addrs = first.addresses()
        second = _provider(topo, other)
        with pytest.raises(ProviderError) as caught:
            second.create_hosts()
        text = str(caught.value)
        assert "lab id 'tnso' is in use on this machine" in text
        assert "link clbtnso" in text
        assert "network namespace cl-tnso-node1" in text
        assert f"not recorded in {other / 'state.json'}" in text
        assert f"carbonlab lab down --lab-dir {lab_dir}" in text     # the bridge names its lab
        assert second.state.resources == []
        assert second.state.facts == {}
        # through the command line too: refused before anything is made, and its `down` (of
        # nothing) leaves the first lab alone
        done = lab_cmd("up", str(topology), "--lab-dir", str(other), timeout_s=300)
        assert done.returncode != 0
        assert "lab id 'tnso' is in use on this machine" in done.stdout + done.stderr
        _down(topology, other)
        eth0 = subprocess.run(["ip", "-n", "cl-tnso-node2", "-4", "-br", "addr", "show", "eth0"],
                              capture_output=True, text=True, timeout=30, check=True).stdout.split()
        assert eth0[2:] == [f"{addrs['node2']}/24"]                  # its one address, no other
        assert _ssh(lab_dir, addrs["node2"], "hostname").strip() == "node2"
    finally:
        first.destroy()
        shutil.rmtree(other, ignore_errors=True)
    assert leftovers(topo.lab_id, lab_dir, subnet) == []


def test_objects_whose_lab_directory_is_gone_are_refused_with_the_commands_that_remove_them(
        lab_dir: Path, tmp_path: Path) -> None:
    topo = load(topology_copy(SMALL, tmp_path / "t.yaml", lab_id="tnsg", provider="netns"))
    gone = tmp_path / "gone-lab"                   # what a killed run's removed temp dir leaves
    made = [["ip", "link", "add", "clbtnsg", "type", "bridge"],
            ["ip", "link", "set", "dev", "clbtnsg", "alias", f"carbonlab lab {gone}"],
            ["ip", "netns", "add", "cl-tnsg-node3"]]
    try:
        for argv in made:
            subprocess.run(argv, check=True, timeout=30)
        provider = _provider(topo, lab_dir)
        with pytest.raises(ProviderError) as caught:
            provider.create_hosts()
        text = str(caught.value)
        assert f"the lab directory that made them ({gone}) is gone" in text
        assert "remove them by hand (ip link del clbtnsg; ip netns del cl-tnsg-node3)" in text
        assert provider.state.resources == []
    finally:
        subprocess.run(["ip", "link", "del", "clbtnsg"], capture_output=True, timeout=30, check=False)
        subprocess.run(["ip", "netns", "del", "cl-tnsg-node3"], capture_output=True, timeout=30, check=False)
    assert leftovers(topo.lab_id, lab_dir) == []


class _SilentFirst(NetnsProvider):
    """A provider whose host node2 says nothing on its first start(s): its first process only
    sleeps (as a host whose sshd hangs would), `silent` times."""
    sshd_wait_s = 3.0
    silent = 1

    def _prepare_root(self, root: Path, host: str, address: str) -> None:
        super()._prepare_root(root, host, address)
        if host == "node2" and self.silent > 0:
            self.silent -= 1
            (root / "init.sh").write_text("echo 'init: hanging on purpose'\nexec sleep 600\n")


@pytest.mark.parametrize("silent", [1, 2])
def test_a_silent_host_is_started_once_more_then_named(lab_dir: Path, tmp_path: Path, silent: int) -> None:
    topo = load(topology_copy(SMALL, tmp_path / "t.yaml", lab_id="tnsq", provider="netns"))
    lines: list[str] = []
    provider = _provider(topo, lab_dir, _SilentFirst, lines.append)
    assert isinstance(provider, _SilentFirst)
    provider.silent = silent
    subnet = None
    try:
        if silent == 1:       # the second start answers: the lab goes on
            provider.create_hosts()
            assert any("node2: no SSH banner" in line and "starting the host again" in line for line in lines)
            assert _ssh(lab_dir, provider.addresses()["node2"], "hostname").strip() == "node2"
        else:                 # silent twice: the error says what was seen, for the log of a run
            with pytest.raises(StepError) as caught:
                provider.create_hosts()
            text = str(caught.value)
            assert "host node2" in text
            assert "no SSH banner" in text
            assert "listening in cl-tnsq-node2: nothing" in text
            assert "init: hanging on purpose" in text          # the end of the host's log
        subnet = lab_subnet(lab_dir)
    finally:
        provider.destroy()
    assert leftovers(topo.lab_id, lab_dir, subnet) == []


def _wait_for(predicate: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _resources(lab_dir: Path) -> int:
    try:
        return len(json.loads((lab_dir / "state.json").read_text())["resources"])
    except (OSError, ValueError, KeyError):
        return 0


def _in_playbook(lab_dir: Path) -> bool:
    log = lab_dir / "logs" / "site.log"
    return log.exists() and log.read_text().count("TASK [") >= 3


KILL_POINTS = {
    "first-objects": lambda d: _resources(d) >= 3,
    "creating-hosts": lambda d: _resources(d) >= 14,
    "provisioning": _in_playbook,
}


@pytest.mark.slow
@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_down_after_up_was_sigkilled(lab_dir: Path, tmp_path: Path, point: str) -> None:
    topology = topology_copy(SMALL, tmp_path / "t.yaml", lab_id="tnsk", provider="netns")
    up = subprocess.Popen([str(CARBONLAB), "lab", "up", str(topology), "--lab-dir", str(lab_dir)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        reached = _wait_for(lambda: KILL_POINTS[point](lab_dir), 300)
        os.killpg(up.pid, signal.SIGKILL)      # `lab up` and its ansible-playbook, at once
        up.wait(30)
        assert reached, f"lab up never reached {point}"
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait(30)
        subnet = lab_subnet(lab_dir)
        _down(topology, lab_dir)
    assert leftovers("tnsk", lab_dir, subnet) == []
    _down(topology, lab_dir)                    # and once more: nothing to do, no error


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ssh_provider_provisions_machines_it_did_not_make(lab_dir: Path, tmp_path: Path) -> None:
    """The `ssh` provider on machines reached only by SSH (netns hosts with sshd alone stand in
    for real hosts or VMs): it provisions them to a healthy lab, a second run changes nothing,
    and its `down` leaves the machines and what was installed on them."""
    machines = load(topology_copy(SMALL, tmp_path / "machines.yaml", lab_id="tnsm", provider="netns"))
    provider = _provider(machines, lab_dir)
    ssh_dir = Path(tempfile.mkdtemp(prefix="cs", dir="/tmp"))
    subnet = None
    try:
        provider.create_hosts()
        subnet = lab_subnet(lab_dir)
        addrs = provider.addresses()
        key = str(lab_dir / "ssh" / "id_ed25519")
        raw = yaml.safe_load(SMALL.read_text())
        raw.update(lab_id="tssh", provider="ssh")
        raw.pop("local", None)
        raw["hosts"] = [{"id": h["id"], "address": addrs[h["id"]], "user": "root", "ssh_key": key}
                        for h in raw["hosts"]]
        topology = tmp_path / "ssh.yaml"
        topology.write_text(yaml.safe_dump(raw, sort_keys=False))
        lab = Lab(load(topology), ssh_dir, "ssh", progress=lambda _line: None)
        try:
            lab.up(health_timeout_s=240)
            facts = lab.wait_healthy(60)
            assert len(facts.nodes) == 4
            assert facts.prometheus is PrometheusState.READY
            first = max(n.readings for n in facts.nodes)
            assert _wait_for(lambda: max(n.readings for n in lab.wait_healthy(60).nodes) > first, 120)
            again = lab.provision("site-second.log", same_code=True)
            assert again.changed == 0, again.recap
            # the keys were made on the machine and stay there; the controller has no copy
            assert "n2.key" in _ssh(lab_dir, addrs["node2"], "ls /etc/carbonlab/keys").split()
            assert not list(ssh_dir.rglob("*.key"))
        finally:
            lab.down()
        assert _ssh(lab_dir, addrs["node2"], "test -x /opt/carbonlab/venv/bin/carbonlab && echo kept") \
            .strip() == "kept"
    finally:
        provider.destroy()
        shutil.rmtree(ssh_dir, ignore_errors=True)
    assert leftovers("tnsm", lab_dir, subnet) == []
