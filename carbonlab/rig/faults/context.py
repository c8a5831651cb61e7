"""What faults act on: the services of a lab (each on a `HostControl`), the meters (each bound
as a `MeterProtocol`, emulated or physical), and, on `netns` labs, the lab bridge and each
host's namespace and veth."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from carbonlab.lab.guests import nft_table_prefix
from carbonlab.rig.errors import FaultError, HostError
from carbonlab.rig.hosts.base import HostControl

if TYPE_CHECKING:
    from carbonlab.rig.meters.binding import MeterProtocol


@dataclass
class ServiceRef:
    """One service of the lab: the host it runs on and what the rig needs to know about it."""

    host: HostControl
    service: str                 # the pidfile name: node-n1, gateway-gw1, meters
    host_id: str
    data_dir: Path               # on the host
    url: str = ""                # node API base URL, reachable from the controller


@dataclass(frozen=True)
class NetHost:
    address: str
    netns: str
    veth: str                    # the bridge side of the host's link


@dataclass
class LabNet:
    """The `netns` lab's network as the controller sees it (root needed to change it)."""

    lab_id: str
    bridge: str
    controller_address: str      # the bridge's own address: where rig proxies listen
    hosts: dict[str, NetHost]
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def host(self, host_id: str) -> NetHost:
        try:
            return self.hosts[host_id]
        except KeyError:
            known = ", ".join(sorted(self.hosts))
            raise FaultError(f"no host {host_id!r} on the lab network (hosts: {known})") from None

    def table_name(self, what: str) -> str:
        return f"{nft_table_prefix(self.lab_id)}{what}_{next(self._serial)}"

    def run(self, argv: Sequence[str], *, netns: str | None = None, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
        try:
            done = subprocess.run(full, capture_output=True, text=True, input=stdin, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError(f"{' '.join(full)}: {exc}") from None
        if check and done.returncode != 0:
            raise HostError(f"{' '.join(full)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return done


@dataclass
class FaultContext:
    nodes: dict[str, ServiceRef] = field(default_factory=dict)
    gateways: dict[str, ServiceRef] = field(default_factory=dict)
    meters: dict[str, MeterProtocol] = field(default_factory=dict)  # meter id -> emulated or physical
    net: LabNet | None = None
    seed: int = 0
    genesis_path: Path | None = None                               # on the controller
    chain_id: str = ""

    def node(self, member: str) -> ServiceRef:
        return _pick(self.nodes, member, "node")

    def gateway(self, gateway: str) -> ServiceRef:
        return _pick(self.gateways, gateway, "gateway")

    def meter(self, meter: str) -> MeterProtocol:
        if meter not in self.meters:
            raise FaultError(f"no emulated meter {meter!r} with a control endpoint "
                             f"(meters: {', '.join(sorted(self.meters)) or 'none'})")
        return self.meters[meter]

    def network(self, fault_id: str) -> LabNet:
        if self.net is None:
            raise FaultError(f"fault {fault_id} needs the lab network of the netns provider "
                             "(run the lab with --provider netns, as root)")
        return self.net


def _pick(refs: dict[str, ServiceRef], key: str, kind: str) -> ServiceRef:
    if key not in refs:
        raise FaultError(f"no {kind} {key!r} in the lab ({kind}s: {', '.join(sorted(refs)) or 'none'})")
    return refs[key]
