"""What differs between providers is asked of the provider, never switched on its name: the
port plan, the inventory, the topology's rules and the rig's binding follow the provider's
declared traits, so a provider with another name and the same traits gets the same lab."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.gateway.endpoint import Transport
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.inventory import build, meter_endpoint
from carbonlab.lab.ports import plan
from carbonlab.lab.providers import PROVIDERS, HostLink, provider_class
from carbonlab.lab.providers.local import LocalProvider
from carbonlab.lab.providers.netns import NetnsProvider
from carbonlab.lab.providers.ssh import SshProvider
from carbonlab.lab.resources import HostProcess
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, load, parse

TOPO = load(DEFAULT_TOPOLOGY)


class ScratchProvider(LocalProvider):
    """A provider under another name with the local provider's traits (say, a container runner
    that also shares loopback and the controller's files)."""

    name = "scratch"


class RemoteScratchProvider(SshProvider):
    name = "remote-scratch"


def _state(tmp_path: Path) -> LabState:
    return LabState(path=tmp_path / "state.json")


def test_the_traits_of_each_shipped_provider() -> None:
    traits = {name: (cls.loopback_ports, cls.needs_root, cls.shares_controller_fs,
                     cls.can_reach_package_repos, cls.needs_host_addresses)
              for name, cls in PROVIDERS.items()}
    assert traits == {"local": (True, False, True, False, False),
                      "netns": (False, True, False, False, False),
                      "ssh": (False, False, False, True, True)}
    assert provider_class("netns") is NetnsProvider


def test_a_provider_under_another_name_gets_the_plan_its_traits_say(tmp_path: Path) -> None:
    provider = ScratchProvider(TOPO, tmp_path, _state(tmp_path), lambda _l: None)
    ports = plan(TOPO, provider.addresses(), loopback_ports=provider.loopback_ports)
    base, block = TOPO.local.base_port, TOPO.local.ports_per_host
    assert ports.endpoint("node1", "n1-p2p") == f"127.0.0.1:{base}"
    assert ports.port("node2", "n2-api") == base + block + 1
    inv = build(TOPO, tmp_path, provider, ports, {})
    assert inv["all"]["vars"]["carbonlab_provider"] == "scratch"
    assert inv["all"]["hosts"]["obs"]["grafana_repo_reachable"] is False


def test_package_repositories_are_probed_where_the_provider_may_reach_them(tmp_path: Path) -> None:
    raw: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_TOPOLOGY.read_text()))
    raw["provider"] = "ssh"
    for i, host in enumerate(raw["hosts"]):
        host["address"] = f"192.0.2.{i + 1}"
    topo = parse(raw, "real.yaml")
    provider = RemoteScratchProvider(topo, tmp_path, _state(tmp_path), lambda _l: None)
    ports = plan(topo, provider.addresses(), loopback_ports=provider.loopback_ports)
    inv = build(topo, tmp_path, provider, ports, {})
    assert inv["all"]["hosts"]["obs"]["grafana_repo_reachable"] == "auto"
    assert ports.endpoint("node1", "n1-api") == "192.0.2.1:8080"


def test_hosts_need_an_address_where_the_provider_says_so() -> None:
    raw: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_TOPOLOGY.read_text()))
    raw["provider"] = "ssh"
    with pytest.raises(TopologyError, match=r"hosts\[0\]\.address: is required with provider ssh"):
        parse(raw, "lab.yaml")


def test_the_netns_provider_tells_the_rig_its_network_and_host_processes(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.facts["subnet"] = "198.18.42.0/24"
    state.record(HostProcess("node2", 4242, 99))
    provider = NetnsProvider(TOPO, tmp_path, state, lambda _l: None)
    net = provider.network()
    assert (net.bridge, net.bridge_address) == ("clbdemo", "198.18.42.1")
    assert net.hosts["node1"] == HostLink("198.18.42.10", "cl-demo-node1", "clvdemo0")
    assert net.hosts["obs"].address == "198.18.42.23"
    assert provider.host_pid("node2") == 4242
    assert provider.host_pid("node1") is None
    local = LocalProvider(TOPO, tmp_path, state, lambda _l: None)
    assert local.network() is None
    assert local.host_pid("node2") is None


def test_the_rig_binds_a_meter_where_the_gateways_poll_it(tmp_path: Path) -> None:
    ports = plan(TOPO, {h.id: "127.0.0.1" for h in TOPO.hosts}, loopback_ports=True)
    meter = TOPO.meters[0]
    endpoint = meter_endpoint(meter, ports, DEFAULT_TOPOLOGY)
    assert endpoint.id == meter.id
    assert endpoint.transport is Transport.TCP
    assert (endpoint.host, endpoint.port) == ("127.0.0.1", ports.port("meters-a", f"{meter.id}-modbus"))
    assert endpoint.register_map.name == "t100"
    inv = build(TOPO, tmp_path, LocalProvider(TOPO, tmp_path, _state(tmp_path), lambda _l: None), ports, {})
    polled = inv["all"]["hosts"]["gw-a"]["gateway_instances"][0]["meters"][0]
    assert (polled["host"], polled["port"], polled["id"]) == (endpoint.host, endpoint.port, endpoint.id)
