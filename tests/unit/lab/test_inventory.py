"""Port plans and the inventory: every service has its own address, and genesis can be built."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from carbonlab.gateway.registermap import load_register_map
from carbonlab.lab.health import parse_metrics
from carbonlab.lab.inventory import build, genesis_spec, map_channels
from carbonlab.lab.ports import plan
from carbonlab.lab.providers.local import LocalProvider
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis

TOPO = load(DEFAULT_TOPOLOGY)


def _local() -> LocalProvider:
    return LocalProvider(TOPO, Path("/lab"), LabState(path=Path("/lab/state.json")), lambda _l: None)


def test_local_ports_are_unique_loopback_blocks() -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    counts = Counter(ports.ports.values())
    assert max(counts.values()) == 1
    base, block = TOPO.local.base_port, TOPO.local.ports_per_host
    for i, host in enumerate(h.id for h in TOPO.hosts):
        mine = [p for (h, _), p in ports.ports.items() if h == host]
        assert all(base + i * block <= p < base + (i + 1) * block for p in mine)


def test_netns_ports_are_the_usual_ones() -> None:
    addrs = {h.id: f"198.18.7.{10 + i}" for i, h in enumerate(TOPO.hosts)}
    ports = plan(TOPO, addrs, loopback_ports=False)
    assert ports.endpoint("node1", "n1-api") == "198.18.7.10:8080"
    assert ports.port("node3", "n3-p2p") == 4001
    assert ports.port("gw-a", "gw-a-metrics") == 9108
    assert ports.port("obs", "prometheus") == 9090
    assert ports.endpoint("node1", "n1-client") == "198.18.7.10:8090"


def test_each_member_gets_a_console_beside_its_node_and_no_other_port_moved() -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    m = TOPO.members[0]
    base = TOPO.local.base_port + [h.id for h in TOPO.hosts].index(m.host) * TOPO.local.ports_per_host
    # p2p and API keep the block's first two slots; the console takes the host's last one
    assert (ports.port(m.host, f"{m.id}-p2p"), ports.port(m.host, f"{m.id}-api")) == (base, base + 1)
    on_host = sorted(p for (h, _), p in ports.ports.items() if h == m.host)
    assert ports.port(m.host, f"{m.id}-client") == on_host[-1]
    inv = build(TOPO, Path("/lab"), _local(), ports, {})
    consoles = inv["all"]["hosts"][m.host]["client_instances"]
    assert consoles == [{"member_id": m.id, "node_url": ports.url(m.host, f"{m.id}-api"),
                         "listen": ports.endpoint(m.host, f"{m.id}-client"),
                         "port": ports.port(m.host, f"{m.id}-client"),
                         "token_file": f"/lab/clients/{m.id}.token"}]
    assert inv["all"]["vars"]["client_lab_dir"] == "/lab"    # local hosts share the controller's files


def test_gateways_poll_their_meters_where_the_meters_serve() -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    inv = build(TOPO, Path("/lab"), _local(), ports, {})
    hosts = inv["all"]["hosts"]
    served = {(m["host"], m["port"]): m["id"] for h in ("meters-a", "meters-b", "direct-1", "direct-2")
              for m in hosts[h]["meters_instances"]}
    polled = [(m["host"], m["port"], m["id"]) for h in ("gw-a", "gw-b", "direct-1", "direct-2")
              for g in hosts[h]["gateway_instances"] for m in g["meters"]]
    assert len(polled) == len(TOPO.meters) == len(served)
    assert all(served[(h, p)] == meter for h, p, meter in polled)
    direct = hosts["direct-1"]["gateway_instances"][0]
    assert direct["mode"] == "direct"
    assert len(direct["meters"]) == 1
    groups = inv["all"]["children"]
    assert sorted(groups["nodes"]["hosts"]) == [f"node{i}" for i in range(1, 8)]
    prom = hosts["obs"]["prometheus_config"]
    jobs = {job["job_name"]: job for job in prom["scrape_configs"]}
    assert sorted(jobs) == ["gateway", "node"]  # the job names the dashboards' rules select on
    node_targets = [t for sc in jobs["node"]["static_configs"] for t in sc["targets"]]
    gateway_targets = [t for sc in jobs["gateway"]["static_configs"] for t in sc["targets"]]
    assert len(node_targets) == 7
    assert len(gateway_targets) == 4
    assert prom["rule_files"] == ["rules/*.yml"]
    assert Path(hosts["obs"]["prometheus_rules_src"], "carbonlab-recording.yml").is_file()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus) not installed")
def test_generated_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    inv = build(TOPO, Path("/lab"), _local(), ports, {})
    obs = inv["all"]["hosts"]["obs"]
    shutil.copytree(obs["prometheus_rules_src"], tmp_path / "rules")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(obs["prometheus_config"]))
    result = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_genesis_spec_with_keys_is_valid_genesis() -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    spec = genesis_spec(TOPO, ports)
    keys = {x.id: Signer.generate().public_key.hex() for x in (*TOPO.members, *TOPO.gateways)}
    raw = {**spec,
           "members": [{**m, "public_key": keys[m["id"]]} for m in spec["members"]],
           "gateways": [{**g, "public_key": keys[g["id"]]} for g in spec["gateways"]]}
    genesis = Genesis.from_json(raw)
    assert genesis.n == 7
    assert genesis.f == 2
    assert genesis.params.reading_interval_s == 5
    assert len(genesis.gateway_by_id["gw-a"].meters) == 12
    assert genesis.members[0].p2p_addr == f"/ip4/127.0.0.1/tcp/{ports.port('node1', 'n1-p2p')}"
    # every meter's genesis entry declares the channels its register map has
    for meter in TOPO.meters:
        info = genesis.meter_by_id[meter.id]
        regmap = load_register_map(meter.register_map)
        assert {g.value for g in info.gases} == {c.name for c in regmap.channels
                                                 if c.name in ("ch4", "n2o")}
        assert (info.load.gross_mw is not None) == regmap.has("gross_mw")


def test_metrics_text_is_parsed_into_samples() -> None:
    text = ('# HELP carbonlab_co2_kg_total CO2\n'
            'carbonlab_co2_kg_total{company="genco-a",plant="plant-a",meter="a-u1-s1"} 1234.5\n'
            'carbonlab_gateway_outbox_depth 3\n'
            'garbage line\n')
    assert parse_metrics(text) == [
        ("carbonlab_co2_kg_total", {"company": "genco-a", "plant": "plant-a", "meter": "a-u1-s1"}, 1234.5),
        ("carbonlab_gateway_outbox_depth", {}, 3.0),
    ]


def test_ssh_provider_reaches_topology_hosts(tmp_path: Path) -> None:
    from carbonlab.lab.providers.ssh import SshProvider
    from carbonlab.lab.state import LabState
    from carbonlab.lab.topology import parse

    raw = {"lab_id": "real", "provider": "ssh",
           "hosts": [{"id": f"h{i}", "address": f"192.0.2.{i}", "user": "root" if i else "ops",
                      "ssh_key": "~/.ssh/lab"} for i in range(4)],
           "members": [{"id": f"n{i}", "organisation": "o", "role": "verifier", "host": f"h{i}"}
                       for i in range(4)],
           "gateways": [{"id": "gw", "mode": "direct", "host": "h0", "uplinks": ["n0"]}],
           "meters": [{"id": "m", "gateway": "gw", "company": "c", "plant": "p", "unit": "u", "stack": "s",
                       "physical": {"transport": "tcp", "address": "192.0.2.50"}}]}
    topo = parse(raw, "real.yaml")
    provider = SshProvider(topo, tmp_path, LabState(path=tmp_path / "state.json"), lambda _l: None)
    ops = provider.host_vars("h0")
    assert ops["ansible_host"] == "192.0.2.0"
    assert ops["ansible_user"] == "ops"
    assert ops["ansible_become"] is True
    assert ops["ansible_ssh_private_key_file"] == str(Path("~/.ssh/lab").expanduser())
    assert "ansible_become" not in provider.host_vars("h1")
    assert "StrictHostKeyChecking=accept-new" in provider.ansible_env()["ANSIBLE_SSH_ARGS"]
    ports = plan(topo, provider.addresses(), loopback_ports=provider.loopback_ports)
    inv = build(topo, tmp_path, provider, ports, {})
    meter = inv["all"]["hosts"]["h0"]["gateway_instances"][0]["meters"][0]
    assert (meter["host"], meter["port"], meter["transport"]) == ("192.0.2.50", 502, "tcp")


def test_map_channels_state_units_and_ranges() -> None:
    assert map_channels("float_inverse") == {
        "gases": {"ch4": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 150.0]},
                  "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 200.0]}},
        "load": {"gross_mw": [0.0, 1000.0], "heat_input_mw": [0.0, 2500.0]}}
    assert "n2o" not in map_channels("daq_4_20ma")["gases"]


def test_a_register_map_that_cannot_be_loaded_names_the_meter() -> None:
    import dataclasses

    from carbonlab.lab.errors import TopologyError

    meter = TOPO.meters[0]
    source = meter.emulated or meter.physical
    assert source is not None
    broken = dataclasses.replace(meter, **{"emulated" if meter.emulated else "physical":
                                           dataclasses.replace(source, register_map="nope")})
    topo = dataclasses.replace(TOPO, meters=(broken, *TOPO.meters[1:]))
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    with pytest.raises(TopologyError, match=r"meters\[0\]\.register_map: register map 'nope'"):
        genesis_spec(topo, ports)
