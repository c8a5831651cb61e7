"""The Ansible inventory of a lab: groups, connection variables and every role's input.

Pure: it maps (topology, the provider's host variables and traits, port plan) to one dict
that is written as `inventory.yml`. Roles read only these variables (and their own defaults);
the genesis spec carries everything genesis needs except the public keys, which are
generated on the hosts during the play and merged by the `carbonlab_genesis` module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

import carbonlab.dashboards as dashboards_pkg
from carbonlab.dashboards.scrape import ScrapeTarget, scrape_config
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import GAS_CHANNELS, load_register_map
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.names import client_token_file, prometheus_skipped_file
from carbonlab.lab.ports import PortPlan
from carbonlab.lab.providers.base import Provider
from carbonlab.lab.topology import Meter, Topology
from carbonlab.node.channels import LOAD_KEYS, GasChannel, LoadChannels, gases_json, load_json
from carbonlab.node.emissions import ConcUnit, Gas
from carbonlab.node.organisation import companies_json

GROUPS = ("nodes", "gateways", "meters", "prometheus", "grafana")


def genesis_spec(topo: Topology, ports: PortPlan) -> dict[str, Any]:
    return {
        "chain_id": topo.chain_id, "n": len(topo.members), "f": topo.f, "params": topo.raw_params,
        "members": [{"id": m.id, "organisation": m.organisation, "role": m.role,
                     "p2p_addr": f"/ip4/{ports.address(m.host)}/tcp/{ports.port(m.host, m.id + '-p2p')}",
                     "api_url": ports.url(m.host, m.id + "-api")} for m in topo.members],
        "gateways": [{"id": g.id, "meters": [m.id for m in topo.meters_of(g.id)]}
                     for g in topo.gateways],
        "meters": [{"id": m.id, "company": m.company, "plant": m.plant, "unit": m.unit,
                    "stack": m.stack, "co2_basis": m.co2_basis,
                    **_channels_of(topo, i, m.register_map)}
                   for i, m in enumerate(topo.meters)],
        "companies": companies_json(topo.companies),
    }


def meter_endpoint(meter: Meter, ports: PortPlan, topology_path: Path) -> MeterEndpoint:
    """Where and how the gateways poll `meter` in this lab (the rig binds it there too); a register
    map given as a relative path is found beside the topology file. Raises the gateway's
    `ConfigError` naming the meter when its register map cannot be read."""
    return MeterEndpoint.from_dict(_meter_table(meter, ports), topology_path)


def _channels_of(topo: Topology, index: int, register_map: str) -> dict[str, Any]:
    try:
        return map_channels(register_map, base_dir=Path(topo.path).parent)
    except ConfigError as exc:
        raise TopologyError(topo.path, f"meters[{index}].register_map", str(exc)) from None


def map_channels(register_map: str, base_dir: Path | None = None) -> dict[str, Any]:
    """The genesis `gases` and `load` of a meter read through `register_map` (built-in or an
    absolute path, as the gateway is given it): every CH4/N2O/load/heat channel the map has,
    with its unit, basis and the map's engineering range (heat input in MW thermal)."""
    regmap = load_register_map(register_map, base_dir=base_dir)
    gases = {Gas(c.name): GasChannel(ConcUnit(c.unit), c.basis, (c.min, c.max))
             for c in regmap.channels if c.name in GAS_CHANNELS}
    load = LoadChannels(**{c.name: (c.min / c.factor, c.max / c.factor)
                           for c in regmap.channels if c.name in LOAD_KEYS})
    # written in genesis's own form (node/channels.py), left out where the map has none
    return {**({"gases": gases_json(gases)} if gases else {}),
            **({"load": load_json(load)} if load_json(load) else {})}


def _meter_table(meter: Meter, ports: PortPlan) -> dict[str, Any]:
    """The gateway's `[[meters]]` entry (MeterEndpoint fields) for one meter."""
    base: dict[str, Any] = {"id": meter.id, "register_map": meter.register_map,
                            "sample_period_s": meter.sample_period_s, "timeout_s": 1.0}
    if meter.emulated:
        host = meter.emulated.host
        return {**base, "transport": "tcp", "host": ports.address(host),
                "port": ports.port(host, meter.id + "-modbus"), "device_id": meter.emulated.device_id}
    phys = meter.physical
    assert phys is not None
    if phys.transport == "tcp":
        return {**base, "transport": "tcp", "host": phys.address, "port": phys.port,
                "device_id": phys.device_id}
    return {**base, "transport": "rtu", "serial_port": phys.serial_port, "baudrate": phys.baudrate,
            "parity": phys.parity, "stopbits": phys.stopbits, "bytesize": phys.bytesize,
            "device_id": phys.device_id}


def build(topo: Topology, lab_dir: Path, provider: Provider, ports: PortPlan,
          extra: dict[str, Any]) -> dict[str, Any]:
    hosts: dict[str, dict[str, Any]] = {h.id: dict(provider.host_vars(h.id)) for h in topo.hosts}
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}

    def join(group: str, host: str) -> None:
        if host not in groups[group]:
            groups[group].append(host)

    for m in topo.members:
        join("nodes", m.host)
        hosts[m.host].setdefault("node_instances", []).append({
            "member_id": m.id,
            "p2p_listen": f"/ip4/{ports.address(m.host)}/tcp/{ports.port(m.host, m.id + '-p2p')}",
            "api_listen": ports.endpoint(m.host, m.id + "-api"),
            "api_port": ports.port(m.host, m.id + "-api"),
        })
        hosts[m.host].setdefault("client_instances", []).append({
            "member_id": m.id,
            "node_url": ports.url(m.host, m.id + "-api"),
            "listen": ports.endpoint(m.host, m.id + "-client"),
            "port": ports.port(m.host, m.id + "-client"),
            # on the controller, mode 0600 (made by the role's first run); copied to the host
            "token_file": str(client_token_file(lab_dir, m.id)),
        })
    for g in topo.gateways:
        join("gateways", g.host)
        uplinks = {m.id: m for m in topo.members}
        hosts[g.host].setdefault("gateway_instances", []).append({
            "gateway_id": g.id, "mode": g.mode, "interval_s": g.interval_s,
            "nodes": [ports.url(uplinks[u].host, u + "-api") for u in g.uplinks],
            "metrics_listen": ports.endpoint(g.host, g.id + "-metrics"),
            "metrics_port": ports.port(g.host, g.id + "-metrics"),
            "meters": [_meter_table(m, ports) for m in topo.meters_of(g.id)],
        })
    for host in topo.meter_hosts():
        join("meters", host)
        hosts[host]["meters_control_listen"] = ports.endpoint(host, "meters-control")
        hosts[host]["meters_control_port"] = ports.port(host, "meters-control")
        hosts[host]["meters_instances"] = [
            {"id": m.id, "register_map": m.register_map, "transport": "tcp",
             "host": ports.address(host), "port": ports.port(host, m.id + "-modbus"),
             "device_id": m.emulated.device_id,
             "profile": {**dict(m.emulated.profile), "co2_basis": m.co2_basis}}
            for m in topo.emulated_on(host) if m.emulated]
    if topo.prometheus:
        prom = topo.prometheus
        join("prometheus", prom.host)
        hosts[prom.host].update({
            "prometheus_listen": ports.endpoint(prom.host, "prometheus"),
            "prometheus_port": ports.port(prom.host, "prometheus"),
            "prometheus_rules_src": str(Path(dashboards_pkg.__file__).parent / "generated" / "prometheus"
                                        / "rules"),
            # The one scrape config the dashboards' rules and panels select on (job = role).
            "prometheus_config": _prometheus_config(topo, ports, prom.scrape_interval_s),
        })
    if topo.grafana and topo.grafana.enabled:
        graf = topo.grafana
        join("grafana", graf.host)
        hosts[graf.host].update({
            "grafana_listen_address": ports.address(graf.host),
            "grafana_port": ports.port(graf.host, "grafana"),
            "grafana_prometheus_url": (ports.url(topo.prometheus.host, "prometheus")
                                       if topo.prometheus else ""),
            # "auto": the role probes the repository; False: it does not try
            "grafana_repo_reachable": "auto" if provider.can_reach_package_repos else False,
        })
    all_vars = {
        "carbonlab_lab_id": topo.lab_id,
        "carbonlab_lab_dir": str(lab_dir),
        "carbonlab_provider": provider.name,
        "carbonlab_genesis_spec": genesis_spec(topo, ports),
        "carbonlab_genesis_file": str(lab_dir / "genesis.json"),
        "prometheus_skipped_file": str(prometheus_skipped_file(lab_dir)),
        "carbonlab_controller_python": sys.executable,
        # a console on a local lab reads the rig's reports from the lab directory it shares
        "client_lab_dir": str(lab_dir) if provider.shares_controller_fs else "",
        **extra,
    }
    return {
        "all": {
            "vars": all_vars,
            "hosts": hosts,
            "children": {
                **{g: {"hosts": {h: {} for h in members}} for g, members in groups.items()},
                "keyholders": {"children": {"nodes": {}, "gateways": {}}},
            },
        },
    }


def write(inventory: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(inventory, sort_keys=False, width=120))
    tmp.replace(path)


def _prometheus_config(topo: Topology, ports: PortPlan, interval_s: float) -> dict[str, Any]:
    """prometheus.yml for the lab: every node and gateway, the dashboards' rule files.

    Emulated-meter hosts serve no /metrics, so they are not scraped (they would read down).
    Rule files are relative to prometheus.yml; the prometheus role installs them beside it.
    """
    targets = [ScrapeTarget(role="node", address=ports.endpoint(m.host, m.id + "-api"), name=m.id,
                            organisation=m.organisation) for m in topo.members]
    for g in topo.gateways:
        plants = sorted({m.plant for m in topo.meters_of(g.id)})
        targets.append(ScrapeTarget(role="gateway", address=ports.endpoint(g.host, g.id + "-metrics"),
                                    name=g.id, plant=plants[0] if len(plants) == 1 else None))
    return scrape_config(targets, interval_s, rule_files=["rules/*.yml"],
                         external_labels={"lab": topo.lab_id})
