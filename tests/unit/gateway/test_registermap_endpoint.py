"""MeterEndpoint.from_dict: the [[meters]] table of a gateway config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from carbonlab.gateway.endpoint import MeterEndpoint, Transport
from carbonlab.gateway.errors import ConfigError

TCP = {"id": "m1", "register_map": "t100", "transport": "tcp", "host": "127.0.0.1", "port": 5020,
       "device_id": 1, "sample_period_s": 1.0, "timeout_s": 1.0}
RTU = {"id": "m2", "register_map": "daq_4_20ma", "transport": "rtu", "serial_port": "/dev/ttyUSB0",
       "baudrate": 9600, "parity": "E", "stopbits": 1, "bytesize": 8, "device_id": 7}


def test_tcp_and_rtu() -> None:
    tcp = MeterEndpoint.from_dict(TCP, "gw.toml")
    assert (tcp.transport, tcp.port, tcp.register_map.name) == (Transport.TCP, 5020, "t100")
    rtu = MeterEndpoint.from_dict(RTU, "gw.toml")
    assert (rtu.transport, rtu.parity, rtu.device_id) == (Transport.RTU, "E", 7)
    assert rtu.bus == "rtu:/dev/ttyUSB0"


@pytest.mark.parametrize(("base", "change", "message"), [
    (TCP, {"port": 70000}, "field 'port': must be an integer 1..65535"),
    (TCP, {"port": "502"}, "field 'port': must be an integer"),
    (TCP, {"transport": "udp"}, "field 'transport': must be one of tcp, rtu"),
    (TCP, {"register_map": "nope"}, "field 'register_map': register map 'nope': neither a built-in"),
    (TCP, {"sample_period_s": 0}, "field 'sample_period_s': must be a number"),
    (TCP, {"baudrate": 9600}, "field 'baudrate': does not apply with transport = tcp"),
    (TCP, {"colour": "red"}, "field 'colour': unknown field"),
    (TCP, {"device_id": 0}, "field 'device_id': must be an integer 1..247"),
    (RTU, {"parity": "X"}, "field 'parity': must be one of N, E, O"),
    (RTU, {"host": "x"}, "field 'host': does not apply with transport = rtu"),
])
def test_bad_fields(base: dict[str, Any], change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        MeterEndpoint.from_dict({**base, **change}, Path("/etc/gw.toml"))
    assert str(info.value).startswith("/etc/gw.toml: meter ")
    assert message in str(info.value)


def test_missing_fields() -> None:
    with pytest.raises(ConfigError, match="meter \\(no id\\): field 'id': is required"):
        MeterEndpoint.from_dict({"register_map": "t100"}, "gw.toml")
    with pytest.raises(ConfigError, match="field 'serial_port': is required"):
        MeterEndpoint.from_dict({k: v for k, v in RTU.items() if k != "serial_port"}, "gw.toml")
