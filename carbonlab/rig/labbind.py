"""Bind the rig to a provisioned lab: from its topology and lab directory, the `HostControl` of
every host (a plain shell on `local`, pyinfra over SSH on `netns` and `ssh`), every service's
pidfile name and data directory, the node API URLs, every meter bound as a `MeterProtocol`
(emulated: its Modbus address and its meters process's control endpoint; physical: its
address), the lab network (netns) and genesis. The lab's own code says where things are (ports plan,
provider host variables), so the rig never guesses a path."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbonlab.lab.names import gateway_service, node_service
from carbonlab.node.genesis import Genesis
from carbonlab.rig.errors import RigError
from carbonlab.rig.faults.context import FaultContext, LabNet, NetHost, ServiceRef
from carbonlab.rig.hosts.service import InPlace, ServiceHost
from carbonlab.rig.hosts.shells import LocalShell, PyinfraShell
from carbonlab.rig.meters.binding import EmulatedMeter, PhysicalMeter


class LazyShell:
    """Connects (pyinfra over SSH) at the first command, so binding a lab of 14 hosts costs nothing."""

    def __init__(self, name: str, address: str, key: Path | None, known_hosts: Path | None) -> None:
        self.name = name
        self._args = (address, key, known_hosts)
        self._shell: PyinfraShell | None = None

    def run(self, command: str, *, timeout_s: float = 30.0) -> Any:
        if self._shell is None:
            address, key, known = self._args
            self._shell = PyinfraShell(self.name, address, key=key, known_hosts=known)
        return self._shell.run(command, timeout_s=timeout_s)

    def close(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None


def netns_in_place(host_pid: int) -> Callable[[], InPlace | None]:
    """The files of a netns host as the rig (root, same machine) reaches them: through the host's
    first process (`unshare`'s child, sshd chrooted into the host's overlay) in /proc, and
    nsenter into its mount namespace. None when that process is gone or the rig is not root."""

    def place() -> InPlace | None:
        if os.geteuid() != 0:
            return None
        try:
            children = Path(f"/proc/{host_pid}/task/{host_pid}/children").read_text().split()
        except OSError:
            return None
        for child in children:
            root = Path(f"/proc/{child}/root")
            if (root / "etc" / "hostname").exists():
                return InPlace(root, ("nsenter", "-t", child, "-m", "-r", "--"))
        return None

    return place


def _local_in_place() -> InPlace | None:
    return InPlace(Path("/"))


@dataclass
class RigLab:
    name: str
    provider: str
    ctx: FaultContext
    genesis: Genesis
    interval_s: int
    hosts: dict[str, ServiceHost]
    truth_logs: dict[str, tuple[str, Path]] = field(default_factory=dict)    # meter -> (host, path)
    outboxes: dict[str, tuple[str, Path]] = field(default_factory=dict)      # gateway -> (host, path)
    topology: str = ""

    @property
    def members(self) -> tuple[str, ...]:
        return self.genesis.member_ids

    def close(self) -> None:
        for h in self.hosts.values():
            h.close()


def bind_lab(topology_path: Path, lab_dir: Path, *, seed: int = 0) -> RigLab:
    from carbonlab.lab import topology as topo_mod
    from carbonlab.lab.inventory import meter_endpoint  # the gateways' own entries
    from carbonlab.lab.ports import plan
    from carbonlab.lab.providers import make_provider
    from carbonlab.lab.state import LabState, Phase

    topo = topo_mod.load(topology_path)
    state = LabState.load(lab_dir / "state.json")
    if state.phase != Phase.HEALTHY:
        raise RigError(f"lab {topo.lab_id} in {lab_dir} is {state.phase}, not healthy; "
                       f"run `carbonlab lab up {topology_path} --lab-dir {lab_dir}` first")
    provider = make_provider(state.provider, topo, lab_dir, state, lambda _line: None)
    addresses = provider.addresses()
    ports = plan(topo, addresses, loopback_ports=provider.loopback_ports)
    hosts: dict[str, ServiceHost] = {}
    layout: dict[str, dict[str, Any]] = {}
    for host in topo.hosts:
        hv = provider.host_vars(host.id)
        layout[host.id] = hv
        in_place: Callable[[], InPlace | None] | None = None
        if provider.shares_controller_fs:
            shell: Any = LocalShell(host.id)
            in_place = _local_in_place
        else:
            pid = provider.host_pid(host.id)
            if pid is not None:
                in_place = netns_in_place(pid)
            key = hv.get("ansible_ssh_private_key_file")
            known = lab_dir / "ssh" / "known_hosts"
            shell = LazyShell(host.id, addresses[host.id], Path(key) if key else None,
                              known if known.exists() else None)
        hosts[host.id] = ServiceHost(host.id, shell, Path(hv["carbonlab_run"]), Path(hv["carbonlab_log"]),
                                     user=str(hv.get("carbonlab_user") or ""), in_place=in_place,
                                     supervisor=(str(hv["carbonlab_bin"]), "supervise"))
    genesis = Genesis.load(lab_dir / "genesis.json")
    ctx = FaultContext(seed=seed, genesis_path=lab_dir / "genesis.json", chain_id=genesis.chain_id)
    for m in topo.members:
        ctx.nodes[m.id] = ServiceRef(hosts[m.host], node_service(m.id), m.host,
                                     Path(layout[m.host]["carbonlab_var"]) / m.id,
                                     ports.url(m.host, f"{m.id}-api"))
    rig = RigLab(topo.lab_id, state.provider, ctx, genesis,
                 min((g.interval_s for g in topo.gateways), default=60), hosts, topology=str(topology_path))
    for g in topo.gateways:
        var = Path(layout[g.host]["carbonlab_var"])
        ctx.gateways[g.id] = ServiceRef(hosts[g.host], gateway_service(g.id), g.host, var / g.id)
        rig.outboxes[g.id] = (g.host, var / g.id / "gateway.db")
    for meter in topo.meters:
        endpoint = meter_endpoint(meter, ports, topology_path)
        if meter.emulated:
            h = meter.emulated.host
            truth = Path(layout[h]["carbonlab_var"]) / "truth"
            rig.truth_logs[meter.id] = (h, truth / f"{meter.id}.jsonl")
            # the truth log is readable in place only where the meter's host is this machine
            ctx.meters[meter.id] = EmulatedMeter(
                endpoint, ports.url(h, "meters-control"),
                truth / f"{meter.id}.jsonl" if provider.shares_controller_fs else None)
        else:
            ctx.meters[meter.id] = PhysicalMeter(endpoint)
    network = provider.network()
    if network is not None:
        ctx.net = LabNet(topo.lab_id, network.bridge, network.bridge_address,
                         {h: NetHost(link.address, link.netns, link.veth)
                          for h, link in network.hosts.items()})
    return rig
