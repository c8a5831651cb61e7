"""Where every service of a lab listens, given the provider.

On `netns` and `ssh` a service listens on its declared (usual) port at its host's
address. On `local` (a provider with `loopback_ports`) every host shares 127.0.0.1, so host i
gets the block
`base_port + i * ports_per_host ...` and its services take the block's ports in the
fixed order of `topology_rules.services_by_host`. Nothing binds to 0.0.0.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carbonlab.lab.topology import Topology
from carbonlab.lab.topology_rules import services_by_host


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
