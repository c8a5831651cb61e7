"""METERS.yaml validation: file, field and what is allowed."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from carbonlab.fields import HostPort
from carbonlab.gateway.endpoint import Transport
from carbonlab.loopback import free_loopback_port
from carbonlab.rig.meters.config import load_meters_config, meter_seed, parse_meters_config
from carbonlab.rig.meters.errors import MetersConfigError

GOOD: dict[str, Any] = {
    "seed": 42, "truth_dir": "truth/", "control_listen": "127.0.0.1:7020",
    "serial_buses": {"/tmp/x-bus": {"baudrate": 9600, "paced": True, "gateway_link": "/tmp/x-bus-gw"}},
    "meters": [
        {"id": "m1", "register_map": "t100", "transport": "tcp", "host": "127.0.0.1", "port": 5020,
         "device_id": 1, "profile": {"capacity_mw": 600, "co2_basis": "wet"}},
        {"id": "m2", "register_map": "daq_4_20ma", "transport": "rtu", "serial_port": "/tmp/x-bus",
         "device_id": 2},
    ],
}


def test_good_config(tmp_path: Path) -> None:
    config = parse_meters_config(GOOD, tmp_path / "meters.yaml")
    assert config.truth_dir == tmp_path / "truth"
    assert config.control == HostPort("127.0.0.1", 7020)
    assert [m.endpoint.transport for m in config.meters] == [Transport.TCP, Transport.RTU]
    assert config.meters[0].profile.capacity_mw == 600
    assert config.meters[0].seed == meter_seed(42, "m1") != meter_seed(42, "m2")


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


@pytest.mark.parametrize(("raw", "message"), [
    (_with(seed="x"), "field 'seed': must be an integer"),
    (_with(control_listen="7020"),
     "field 'control_listen': must be \"host:port\" with a port 1..65535, got '7020'"),
    (_with(meters=[GOOD["meters"][0], GOOD["meters"][0]]), "meter id 'm1' appears twice"),
    (_with(meters=[GOOD["meters"][0], {**GOOD["meters"][0], "id": "m9"}]),
     "127.0.0.1:5020 (device 1) is already"),
    (_with(meters=[{**GOOD["meters"][0], "profile": {"capacity_mw": -1}}]),
     "field 'meters[0].profile.capacity_mw': must be a number >= 0"),
    (_with(meters=[{**GOOD["meters"][0], "profile": {"hold_s": [10]}}]),
     "field 'meters[0].profile.hold_s': must be [min, max]"),
    (_with(meters=[{**GOOD["meters"][0], "profile": {"flavour": 1}}]),
     "field 'meters[0].profile.flavour': unknown"),
    (_with(meters=[{**GOOD["meters"][0], "register_map": "nope"}]), "meters[0]: "),
    (_with(serial_buses={"/tmp/x": {"baudrate": 9600}}),
     "field 'serial_buses./tmp/x.gateway_link': is required"),
    (_with(serial_buses={"/tmp/x": {"gateway_link": "/tmp/y", "baudrate": 7}}),
     "must be one of 1200, 2400, 4800, 9600"),
    (_with(serial_buses={"/tmp/x": {"gateway_link": "/tmp/y", "bits_per_char": 20}}),
     "field 'serial_buses./tmp/x.bits_per_char': must be an integer 9..12, got 20"),
    (_with(serial_buses={"/tmp/x": {"gateway_link": "/tmp/y", "paced": "yes"}}),
     "field 'serial_buses./tmp/x.paced': must be true or false, got 'yes'"),
    (_with(serial_buses={"/tmp/x": {"gateway_link": "/tmp/y", "speed": 1}}),
     "field 'serial_buses./tmp/x.speed': unknown field"),
    (_with(truth_dir=3), "field 'truth_dir': must be a non-empty string, got 3"),
    # docs/meters.md: one address, never every interface (the endpoint injects faults, unauthenticated)
    (_with(control_listen="0.0.0.0:30911"), "field 'control_listen': must be one address"),
    (_with(control_listen="[::]:30911"), "field 'control_listen': must be one address"),
    (_with(control_listen="example.org:30911"), "field 'control_listen': must be an IP address"),
])
def test_bad_config(tmp_path: Path, raw: dict[str, Any], message: str) -> None:
    with pytest.raises(MetersConfigError) as info:
        parse_meters_config(raw, tmp_path / "meters.yaml")
    assert str(tmp_path / "meters.yaml") in str(info.value)
    assert message in str(info.value)


def test_declared_defaults_fill_what_a_file_leaves_out(tmp_path: Path) -> None:
    raw = {"serial_buses": {"/tmp/x-bus": {"gateway_link": "/tmp/x-bus-gw"}}, "meters": GOOD["meters"]}
    config = parse_meters_config(raw, tmp_path / "meters.yaml")
    assert (config.seed, config.truth_dir, config.control) == (0, None, None)
    bus = config.buses[0]
    assert (bus.baudrate, bus.paced, bus.bits_per_char) == (9600, True, 10)   # MeterEndpoint's baudrate


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "[::1]", "localhost"])
def test_loopback_control_addresses_are_taken(tmp_path: Path, host: str) -> None:
    config = parse_meters_config(_with(control_listen=f"{host}:7020"), tmp_path / "meters.yaml")
    assert config.control is not None
    assert config.control.port == 7020


def test_a_key_given_twice_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "meters.yaml"
    path.write_text("seed: 1\nmeters:\n  - {id: m1, register_map: t100, transport: tcp, host: 127.0.0.1, "
                    "port: 5020, device_id: 1}\nseed: 2\n")
    with pytest.raises(MetersConfigError) as info:
        load_meters_config(path)
    assert str(info.value) == (f"{path}: field 'seed': given twice in one mapping (lines 1 and 4); "
                               "write each key once")


def test_control_port_in_use_is_a_clean_error(tmp_path: Path) -> None:
    # a real `carbonlab meters serve`, its control port held by this test's socket: it was a traceback
    meter_port = free_loopback_port()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = held.getsockname()[1]
        path = tmp_path / "meters.yaml"
        path.write_text(f"control_listen: 127.0.0.1:{busy}\nmeters:\n  - {{id: m1, register_map: t100, "
                        f"transport: tcp, host: 127.0.0.1, port: {meter_port}, device_id: 1}}\n")
        proc = subprocess.Popen([str(Path(sys.executable).parent / "carbonlab"), "meters", "serve",
                                 "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert (f"carbonlab: error: {path}: field 'control_listen': cannot listen on 127.0.0.1:{busy} "
            "(Address already in use)") in err


@pytest.mark.parametrize("address", ["127.0.0.1:7020", "localhost:7020", "[::1]:7020", "198.18.100.19:8099"])
def test_the_control_endpoint_may_bind_loopback_or_a_lab_address(tmp_path: Path, address: str) -> None:
    """A netns lab's meters host serves its control endpoint on its namespace address (the rig on
    the controller reaches it there): refusing it broke every netns lab (CI, 2026-12-06)."""
    config = parse_meters_config(_with(control_listen=address), tmp_path / "meters.yaml")
    assert config.control is not None
