"""Topology loading: the default file is valid, and each broken variant is rejected by name."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.gateway.registermap import MAPS_DIR
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load, parse


def default_raw() -> dict[str, Any]:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    assert isinstance(raw, dict)
    return raw


def test_default_topology_is_the_seed_consortium() -> None:
    topo = load(DEFAULT_TOPOLOGY)
    assert len(topo.members) == 7
    assert topo.f == 2
    roles = [m.role for m in topo.members]
    assert roles.count("power-company") == 2
    assert roles.count("emission-management") == 2
    assert {"verifier", "environmental-protection", "trading-centre"} <= set(roles)
    edge = [g for g in topo.gateways if g.mode == "edge"]
    direct = [g for g in topo.gateways if g.mode == "direct"]
    assert len(edge) == 2
    assert all(len(topo.meters_of(g.id)) == 12 for g in edge)
    assert len({m.plant for g in edge for m in topo.meters_of(g.id)}) == 2
    assert len(direct) == 2
    assert all(len(topo.meters_of(g.id)) == 1 for g in direct)
    assert topo.prometheus is not None


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    node: Any = raw
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def _unknown_field(raw: dict[str, Any]) -> None:
    raw["members"][2]["colour"] = "blue"


def _duplicate_member(raw: dict[str, Any]) -> None:
    raw["members"][3]["id"] = "n1"


def _six_members(raw: dict[str, Any]) -> None:
    raw["members"].pop()
    for g in raw["gateways"]:
        g["uplinks"] = [u for u in g["uplinks"] if u != "n7"]


def _meter_unknown_gateway(raw: dict[str, Any]) -> None:
    raw["meters"][5]["gateway"] = "gw-zz"


def _port_clash(raw: dict[str, Any]) -> None:
    raw["meters"][1]["emulated"]["port"] = raw["meters"][0]["emulated"]["port"]


def _node_port_clash(raw: dict[str, Any]) -> None:
    raw["members"][1]["host"] = "node1"
    raw["members"][1]["p2p_port"] = 4002


def _unknown_host(raw: dict[str, Any]) -> None:
    raw["gateways"][0]["host"] = "nowhere"


def _bad_role(raw: dict[str, Any]) -> None:
    raw["members"][0]["role"] = "king"


def _direct_two_meters(raw: dict[str, Any]) -> None:
    raw["meters"][0]["gateway"] = "gw-d1"


def _both_kinds(raw: dict[str, Any]) -> None:
    raw["meters"][0]["physical"] = {"transport": "tcp", "address": "10.0.0.1"}


def _unknown_uplink(raw: dict[str, Any]) -> None:
    raw["gateways"][1]["uplinks"] = ["n1", "n9"]


def _bad_lab_id(raw: dict[str, Any]) -> None:
    raw["lab_id"] = "Demo_Lab_Too_Long"


def _ssh_without_address(raw: dict[str, Any]) -> None:
    raw["provider"] = "ssh"


def _block_too_small(raw: dict[str, Any]) -> None:
    raw["local"]["ports_per_host"] = 8


def _top_unknown(raw: dict[str, Any]) -> None:
    raw["colour"] = 1


def _subnet_outside(raw: dict[str, Any]) -> None:
    raw["netns"] = {"subnet": "10.1.2.0/24"}


def _subnet_not_24(raw: dict[str, Any]) -> None:
    raw["netns"] = {"subnet": "198.18.0.0/16"}


def _subnet_garbage(raw: dict[str, Any]) -> None:
    raw["netns"] = {"subnet": "198.18.300.0/24"}


def _no_uplinks(raw: dict[str, Any]) -> None:
    raw["gateways"][3]["uplinks"] = []


def _bad_host_id(raw: dict[str, Any]) -> None:
    raw["hosts"][4]["id"] = "Node_5"


def _hosts_not_a_list(raw: dict[str, Any]) -> None:
    raw["hosts"] = {"id": "node1"}


def _grafana_unknown(raw: dict[str, Any]) -> None:
    raw["observability"]["grafana"] = {"host": "obs", "colour": "red"}


def _observability_unknown(raw: dict[str, Any]) -> None:
    raw["observability"]["loki"] = {"host": "obs"}


def _long_chain_id(raw: dict[str, Any]) -> None:
    raw["chain_id"] = "c" * 65


def _no_meters(raw: dict[str, Any]) -> None:
    del raw["meters"]


def _unknown_register_map(raw: dict[str, Any]) -> None:
    raw["meters"][2]["emulated"]["register_map"] = "t10"


def _scrape_interval(raw: dict[str, Any]) -> None:
    raw["observability"]["prometheus"]["scrape_interval_s"] = 0


CASES = [
    # (mutation, field path named, words the message must hold)
    (_unknown_field, "members[2].colour", "unknown field"),
    (_top_unknown, "colour", "unknown field"),
    (_duplicate_member, "members[3].id", "duplicate id 'n1'"),
    (_six_members, "members", "3f + 1"),
    (_meter_unknown_gateway, "meters[5].gateway", "unknown gateway 'gw-zz'"),
    (_port_clash, "meters[1].emulated.port", "port clash on host 'meters-a'"),
    (_node_port_clash, "members[1].api_port", "port clash on host 'node1'"),
    (_unknown_host, "gateways[0].host", "unknown host 'nowhere'"),
    (_bad_role, "members[0].role", "must be one of power-company, emission-management"),
    (_direct_two_meters, "gateways[2].mode", "exactly one meter"),
    (_both_kinds, "meters[0]", "exactly one of 'emulated'"),
    (_unknown_uplink, "gateways[1].uplinks[1]", "unknown member 'n9'"),
    (_bad_lab_id, "lab_id", "must match"),
    (_ssh_without_address, "hosts[0].address", "required with provider ssh"),
    (_block_too_small, "local.ports_per_host", "runs 13 services"),
    # checked at load, no longer first by the netns provider when it creates the network
    (_subnet_outside, "netns.subnet", "must be a /24 inside 198.18.0.0/15, got '10.1.2.0/24'"),
    (_subnet_not_24, "netns.subnet", "must be a /24 inside 198.18.0.0/15"),
    (_subnet_garbage, "netns.subnet", "is not an IPv4 network"),
    (_no_uplinks, "gateways[3].uplinks", "must name at least one member"),
    (_bad_host_id, "hosts[4].id", "must match ^[a-z][a-z0-9-]{0,30}$, got 'Node_5'"),
    (_hosts_not_a_list, "hosts", "must be a list, got dict"),
    (_grafana_unknown, "observability.grafana.colour", "unknown field; allowed: enabled, host, port"),
    (_observability_unknown, "observability.loki", "unknown field; allowed: grafana, prometheus"),
    (_long_chain_id, "chain_id", "must be at most 64 characters"),
    (_no_meters, "meters", "is required"),
    (_unknown_register_map, "meters[2].emulated.register_map",
     "register map 't10': neither a built-in map (daq_4_20ma, float_inverse, t100)"),
    (_scrape_interval, "observability.prometheus.scrape_interval_s", "must be an integer 1..300, got 0"),
]


@pytest.mark.parametrize(("mutate", "field", "words"), CASES, ids=[c[0].__name__[1:] for c in CASES])
def test_broken_topology_is_rejected_naming_the_field(mutate: Any, field: str, words: str) -> None:
    raw = copy.deepcopy(default_raw())
    mutate(raw)
    with pytest.raises(TopologyError) as info:
        parse(raw, "lab.yaml")
    assert info.value.path == "lab.yaml"
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(f"lab.yaml: {field}: ")


def test_unreadable_and_invalid_yaml_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="cannot read"):
        load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("lab_id: [unclosed\n")
    with pytest.raises(TopologyError, match=r"bad\.yaml: \(file\): line 2: not valid YAML"):
        load(bad)


def test_loaded_objects_are_frozen() -> None:
    topo = load(DEFAULT_TOPOLOGY)
    with pytest.raises(AttributeError):
        topo.members[0].id = "x"  # type: ignore[misc]


def test_a_key_given_twice_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("lab_id: x\nlab_id: y\n")
    with pytest.raises(TopologyError, match=r"lab_id.*given twice in one mapping \(line 1 and line 2\)"):
        load(path)


def test_defaults_are_the_declared_ones() -> None:
    """A file that leaves settings out gets the defaults declared on the fields, once."""
    raw = copy.deepcopy(default_raw())
    for key in ("chain_id", "provider", "local", "params"):
        raw.pop(key, None)
    raw["members"][0] = {k: v for k, v in raw["members"][0].items() if not k.endswith("_port")}
    topo = parse(raw, "lab.yaml")
    assert topo.chain_id == "carbonlab-demo"
    assert topo.provider == "local"
    assert (topo.local.base_port, topo.local.ports_per_host) == (21000, 40)
    assert (topo.members[0].p2p_port, topo.members[0].api_port) == (4001, 8080)
    assert topo.netns.subnet == ""
    assert topo.meters_control_port == 8099


def test_a_lab_subnet_in_the_lab_network_is_kept() -> None:
    raw = copy.deepcopy(default_raw())
    raw["netns"] = {"subnet": "198.19.7.0/24"}
    assert parse(raw, "lab.yaml").netns.subnet == "198.19.7.0/24"


def test_a_register_map_file_beside_the_topology_is_read_at_load(tmp_path: Path) -> None:
    raw = copy.deepcopy(default_raw())
    raw["meters"][0]["emulated"]["register_map"] = "mine.yaml"
    (tmp_path / "mine.yaml").write_text("name: mine\nchannels: {}\n")
    with pytest.raises(TopologyError) as info:
        parse(raw, str(tmp_path / "lab.yaml"))
    assert info.value.field == "meters[0].emulated.register_map"
    assert "mine.yaml" in info.value.problem
    (tmp_path / "mine.yaml").write_text((MAPS_DIR / "t100.yaml").read_text())
    topo = parse(raw, str(tmp_path / "lab.yaml"))
    assert topo.meters[0].register_map == "mine.yaml"
