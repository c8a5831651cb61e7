"""Cross-field rules of a topology: ids unique, n = 3f + 1, references resolve, ports do not clash.

Each rule raises TopologyError naming the file, the field path of the offending
entry and the rule; `check` runs them in a fixed order so the first problem in the
file is the one reported.
"""

from __future__ import annotations

from collections.abc import Iterable

from carbonlab.lab.errors import TopologyError
from carbonlab.lab.providers import provider_class
from carbonlab.lab.topology import Topology


def check(topo: Topology) -> None:
    _unique(topo, "hosts", [h.id for h in topo.hosts])
    _unique(topo, "members", [m.id for m in topo.members])
    _unique(topo, "gateways", [g.id for g in topo.gateways])
    _unique(topo, "meters", [m.id for m in topo.meters])
    _consortium_size(topo)
    _references(topo)
    _direct_gateways(topo)
    _ports(topo)
    _local_block(topo)
    if provider_class(topo.provider).needs_host_addresses:
        for i, host in enumerate(topo.hosts):
            if not host.address:
                raise TopologyError(topo.path, f"hosts[{i}].address",
                                    f"is required with provider {topo.provider} (a hostname or IP address)")


def _unique(topo: Topology, section: str, ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, value in enumerate(ids):
        if value in seen:
            raise TopologyError(topo.path, f"{section}[{i}].id",
                                f"duplicate id {value!r} (already used by {section}[{seen[value]}])")
        seen[value] = i


def _consortium_size(topo: Topology) -> None:
    n = len(topo.members)
    if n < 4 or n % 3 != 1:
        lower = max(4, n - (n - 1) % 3)
        raise TopologyError(topo.path, "members",
                            f"PBFT needs n = 3f + 1 members with f >= 1 (4, 7, 10, ...); got {n} "
                            f"(nearest: {lower} or {lower + 3})")


def _references(topo: Topology) -> None:
    hosts = {h.id for h in topo.hosts}
    members = {m.id for m in topo.members}
    gateways = {g.id for g in topo.gateways}

    def host_ref(field: str, value: str) -> None:
        if value not in hosts:
            raise TopologyError(topo.path, field, f"unknown host {value!r} (hosts: {_names(hosts)})")

    for i, m in enumerate(topo.members):
        host_ref(f"members[{i}].host", m.host)
    for i, g in enumerate(topo.gateways):
        host_ref(f"gateways[{i}].host", g.host)
        for j, uplink in enumerate(g.uplinks):
            if uplink not in members:
                raise TopologyError(topo.path, f"gateways[{i}].uplinks[{j}]",
                                    f"unknown member {uplink!r} (members: {_names(members)})")
    for i, meter in enumerate(topo.meters):
        if meter.gateway not in gateways:
            raise TopologyError(topo.path, f"meters[{i}].gateway",
                                f"unknown gateway {meter.gateway!r} (gateways: {_names(gateways)})")
        if meter.emulated:
            host_ref(f"meters[{i}].emulated.host", meter.emulated.host)
    if topo.prometheus:
        host_ref("observability.prometheus.host", topo.prometheus.host)
    if topo.grafana:
        host_ref("observability.grafana.host", topo.grafana.host)


def _direct_gateways(topo: Topology) -> None:
    for i, g in enumerate(topo.gateways):
        count = len(topo.meters_of(g.id))
        if g.mode == "direct" and count != 1:
            raise TopologyError(topo.path, f"gateways[{i}].mode",
                                f"a direct gateway has exactly one meter; {g.id!r} has {count}")
        if count == 0:
            raise TopologyError(topo.path, f"gateways[{i}]", f"gateway {g.id!r} has no meters")


def services_by_host(topo: Topology) -> dict[str, list[tuple[str, str, int]]]:
    """(service name, field path, declared port) of every listening service, per host, in a
    fixed order: the order the local provider hands out its loopback port block."""
    out: dict[str, list[tuple[str, str, int]]] = {h.id: [] for h in topo.hosts}
    for i, m in enumerate(topo.members):
        out[m.host].append((f"{m.id}-p2p", f"members[{i}].p2p_port", m.p2p_port))
        out[m.host].append((f"{m.id}-api", f"members[{i}].api_port", m.api_port))
    for i, g in enumerate(topo.gateways):
        out[g.host].append((f"{g.id}-metrics", f"gateways[{i}].metrics_port", g.metrics_port))
    for host in topo.meter_hosts():
        out[host].append(("meters-control", "meters_control_port", topo.meters_control_port))
    for i, meter in enumerate(topo.meters):
        if meter.emulated:
            out[meter.emulated.host].append((f"{meter.id}-modbus", f"meters[{i}].emulated.port",
                                             meter.emulated.port))
    if topo.prometheus:
        out[topo.prometheus.host].append(("prometheus", "observability.prometheus.port",
                                          topo.prometheus.port))
    if topo.grafana and topo.grafana.enabled:
        out[topo.grafana.host].append(("grafana", "observability.grafana.port", topo.grafana.port))
    # last, so that adding the consoles moved no other service's loopback port
    for i, m in enumerate(topo.members):
        out[m.host].append((f"{m.id}-client", f"members[{i}].client_port", m.client_port))
    return out


def _ports(topo: Topology) -> None:
    for host, services in services_by_host(topo).items():
        seen: dict[int, str] = {}
        for name, field, port in services:
            if port in seen:
                raise TopologyError(topo.path, field,
                                    f"port clash on host {host!r}: {name} and {seen[port]} both "
                                    f"use port {port}")
            seen[port] = name


def _local_block(topo: Topology) -> None:
    block = topo.local.ports_per_host
    for host, services in services_by_host(topo).items():
        if len(services) > block:
            raise TopologyError(topo.path, "local.ports_per_host",
                                f"host {host!r} runs {len(services)} services but a block holds "
                                f"{block}; raise local.ports_per_host")
    last = topo.local.base_port + len(topo.hosts) * block - 1
    if last > 65535:
        raise TopologyError(topo.path, "local.base_port",
                            f"{len(topo.hosts)} hosts x {block} ports from {topo.local.base_port} "
                            f"end at {last}, past 65535")


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "(none)"
