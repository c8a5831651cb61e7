"""A meter's settings follow one rule wherever they are read: the topology, the gateway's
`[[meters]]` table and METERS.yaml agree, and the topology checks everything it holds
(the emulation profile too) when it loads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import ConfigError
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, parse
from carbonlab.rig.meters.config import parse_meters_config
from carbonlab.rig.meters.errors import MetersConfigError

RTU = {"id": "m1", "register_map": "t100", "transport": "rtu", "serial_port": "/dev/ttyUSB0"}


def _topology_with(meter_change: dict[str, Any], physical_change: dict[str, Any]) -> dict[str, Any]:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    meter = raw["meters"][0]
    meter.pop("emulated")
    meter["physical"] = {"transport": "rtu", "serial_port": "/dev/ttyUSB0", **physical_change}
    meter.update(meter_change)
    return copy.deepcopy(raw)


def _topology_accepts(meter_change: dict[str, Any], physical_change: dict[str, Any]) -> bool:
    try:
        parse(_topology_with(meter_change, physical_change), "lab.yaml")
    except TopologyError:
        return False
    return True


def _gateway_accepts(change: dict[str, Any]) -> bool:
    try:
        MeterEndpoint.from_dict({**RTU, **change}, Path("/etc/gw.toml"))
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("baudrate", [300, 1200, 9600, 14400, 115200, 230400, 921600])
def test_gateway_and_topology_accept_the_same_baudrates(baudrate: int) -> None:
    assert _gateway_accepts({"baudrate": baudrate}) == _topology_accepts({}, {"baudrate": baudrate})


@pytest.mark.parametrize("period", [0.01, 0.05, 1.0, 60.0, 61.0, 600.0, 3600.0])
def test_gateway_and_topology_accept_the_same_sample_periods(period: float) -> None:
    assert _gateway_accepts({"sample_period_s": period}) == \
        _topology_accepts({"sample_period_s": period}, {})


def test_the_agreed_rules_are_the_documented_ones() -> None:
    """Standard Modbus RTU rates only; at least one sample a minute (the HJ 76 minute rule)."""
    assert _gateway_accepts({"baudrate": 19200})
    assert not _gateway_accepts({"baudrate": 300})
    assert _gateway_accepts({"sample_period_s": 60.0})
    assert not _gateway_accepts({"sample_period_s": 120.0})


def test_a_serial_bus_runs_at_a_rate_its_meters_accept(tmp_path: Path) -> None:
    raw = {"meters": [{"id": "m1", "register_map": "t100", "transport": "rtu", "serial_port": "/tmp/bus"}],
           "serial_buses": {"/tmp/bus": {"gateway_link": "/tmp/bus-gw", "baudrate": 300}}}
    with pytest.raises(MetersConfigError, match=r"field 'serial_buses\./tmp/bus\.baudrate': must be one of"):
        parse_meters_config(raw, tmp_path / "meters.yaml")


@pytest.mark.parametrize(("profile", "field", "words"), [
    ({"capacity_mw": -1}, "meters[0].emulated.profile.capacity_mw", "must be a number >= 0"),
    ({"flavour": 1}, "meters[0].emulated.profile.flavour", "unknown field"),
    ({"hold_s": [0, 10]}, "meters[0].emulated.profile.hold_s", "0 < min <= max"),
    ({"min_load": 0}, "meters[0].emulated.profile.min_load", "must be above 0"),
    ({"co2_basis": "moist"}, "meters[0].emulated.profile.co2_basis", "must be one of wet, dry"),
])
def test_emulation_profile_is_checked_when_the_topology_loads(profile: dict[str, Any], field: str,
                                                              words: str) -> None:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    raw["meters"][0]["emulated"]["profile"] = profile
    with pytest.raises(TopologyError) as info:
        parse(raw, "lab.yaml")
    assert info.value.field == field
    assert str(info.value).startswith(f"lab.yaml: {field}: ")
    assert words in str(info.value)


def test_topology_meter_defaults_are_the_gateways() -> None:
    topo = parse(_topology_with({}, {}), "lab.yaml")
    physical = topo.meters[0].physical
    assert physical is not None
    endpoint = MeterEndpoint.from_dict(RTU, "gw.toml")
    assert (physical.baudrate, physical.parity, physical.stopbits, physical.bytesize, physical.device_id) == \
        (endpoint.baudrate, endpoint.parity, endpoint.stopbits, endpoint.bytesize, endpoint.device_id)
    assert topo.meters[0].sample_period_s == endpoint.sample_period_s
