"""Where every service of a lab listens, given the provider.

On `netns` and `ssh` a service listens on its declared (usual) port at its host's
address. On `local` (a provider with `loopback_ports`) every host shares 127.0.0.1, so host i
gets the block
`base_port + i * ports_per_host ...` and its services take the block's ports in the
fixed order of `topology_rules.services_by_host`. Nothing binds to 0.0.0.0.

Those loopback ports must lie outside the machine's ephemeral range, from which the kernel
takes the local port of every outgoing connection (`check_outside_ephemeral`, with the range
from `carbonlab/loopback.py`): a lab port in it can be held by any connection of any process
at the moment its service starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carbonlab.lab.errors import TopologyError
from carbonlab.lab.topology import DEFAULT_BASE_PORT, Topology
from carbonlab.lab.topology_rules import services_by_host
from carbonlab.loopback import PORT_RANGE_FILE, ephemeral_range


@dataclass(frozen=True)
class PortPlan:
    addresses: Mapping[str, str]                 # host id -> address services bind to
    ports: Mapping[tuple[str, str], int]         # (host id, service name) -> port

    def address(self, host: str) -> str:
        return self.addresses[host]

    def port(self, host: str, service: str) -> int:
        return self.ports[(host, service)]

    def endpoint(self, host: str, service: str) -> str:
        return f"{self.addresses[host]}:{self.ports[(host, service)]}"

    def url(self, host: str, service: str) -> str:
        return f"http://{self.endpoint(host, service)}"


def plan(topo: Topology, addresses: Mapping[str, str], *, loopback_ports: bool) -> PortPlan:
    """`addresses` maps each host to its address and `loopback_ports` says whether hosts share
    one (the provider's `addresses()` and `loopback_ports`: loopback, a bridge address, or the
    topology's `address`)."""
    ports: dict[tuple[str, str], int] = {}
    for index, (host, services) in enumerate(services_by_host(topo).items()):
        base = topo.local.base_port + index * topo.local.ports_per_host
        for slot, (name, _field, declared) in enumerate(services):
            ports[(host, name)] = base + slot if loopback_ports else declared
    return PortPlan(addresses=dict(addresses), ports=ports)


def check_outside_ephemeral(topo: Topology, ports: PortPlan,
                            span: tuple[int, int] | None = None) -> None:
    """Refuse a loopback port plan with a port in the ephemeral range `span` (this machine's
    by default), naming the ports, the range, and a `local.base_port` that fits below it."""
    lo, hi = span or ephemeral_range()
    clash = sorted(port for port in ports.ports.values() if lo <= port <= hi)
    if not clash:
        return
    size = len(topo.hosts) * topo.local.ports_per_host
    below = f"choose a base_port with the block's {size} ports below {lo}"
    if DEFAULT_BASE_PORT + size <= lo:
        advice = f"{below} (the default {DEFAULT_BASE_PORT} does)"
    elif lo - size >= 1024:
        advice = f"{below}, e.g. {lo - size}"
    else:
        advice = (f"choose a base_port above {hi}, or narrow the range "
                  f"(sysctl net.ipv4.ip_local_port_range)")
    raise TopologyError(
        topo.path, "local.base_port",
        f"the lab's loopback ports {clash[0]}-{clash[-1]} fall in this machine's ephemeral port "
        f"range {lo}-{hi} ({PORT_RANGE_FILE}), from which the kernel takes the local port of "
        f"every outgoing connection: any connection can hold a service's port when it starts; "
        f"{advice}")
