"""Meter faults through a real meters process's control endpoint, switched through the meter's
`MeterProtocol` binding: each applied, seen active on the meter, healed (fields back to
defaults, other faults untouched); a physical binding refuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.poller import read_once
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.loopback import free_loopback_ports
from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults import FaultContext, FaultJournal, make_fault
from carbonlab.rig.meters.binding import EmulatedMeter, PhysicalMeter
from carbonlab.rig.meters.errors import PhysicalMeterError
from tests.unit.rig.meters_process import meters_serving
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def meters_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real meters process serving m1 (t100) over Modbus TCP: (control URL, Modbus port)."""
    root = tmp_path_factory.mktemp("meters")
    modbus, control = free_loopback_ports(2)
    config = (f"seed: 1\ntruth_dir: truth/\ncontrol_listen: 127.0.0.1:{control}\nmeters:\n"
              f"  - {{id: m1, register_map: t100, transport: tcp, host: 127.0.0.1, port: {modbus},"
              " device_id: 1}\n")
    with meters_serving(root, config, control) as url:
        yield url, modbus


@pytest.fixture
def meters_url(meters_proc: tuple[str, int]) -> str:
    return meters_proc[0]


def endpoint(port: int) -> MeterEndpoint:
    """m1 as the gateway polls it (Modbus TCP, the t100 register map)."""
    return MeterEndpoint.from_dict({"id": "m1", "register_map": "t100", "transport": "tcp",
                                    "host": "127.0.0.1", "port": port, "device_id": 1, "timeout_s": 2.0},
                                   "gateway.toml")


def context(url: str, port: int = 502) -> FaultContext:
    """A lab's fault context with m1 bound as the emulated meter it is."""
    return FaultContext(meters={"m1": EmulatedMeter(endpoint(port), url)})


def active(url: str) -> list[str]:
    """The meter's faults that differ from their defaults (the meter notes when each was set)."""
    return sorted(httpx.get(f"{url}/meters/m1", timeout=5).json()["faults"]["since"])


@pytest.mark.parametrize(("fault_id", "params", "field"), [
    ("meter.offline", {}, "offline"),
    ("meter.slow", {"delay_s": 0.5}, "slow_s"),
    ("meter.drift", {"pct_per_h": 3.0}, "drift_pct_per_h"),
    ("meter.stuck", {}, "stuck"),
    ("meter.spike", {"every_s": 10}, "spike_every_s"),
    ("meter.exception", {"code": 4}, "exception_code"),
    ("meter.calibration", {"mode": "span"}, "calibration"),
    ("meter.garbage", {"bytes": 4}, "garbage_bytes"),
])
def test_meter_fault_apply_and_heal(meters_url: str, fault_id: str, params: dict[str, object],
                                    field: str) -> None:
    journal = FaultJournal(context(meters_url))
    fault = make_fault(fault_id, "m1", params)
    journal.apply(fault)
    assert field in active(meters_url)
    journal.heal(fault)
    assert field not in active(meters_url)


def test_two_meter_faults_heal_independently(meters_url: str) -> None:
    journal = FaultJournal(context(meters_url))
    stuck, drift = make_fault("meter.stuck", "m1"), make_fault("meter.drift", "m1")
    journal.apply(stuck)
    journal.apply(drift)
    journal.heal(stuck)
    assert active(meters_url) == ["drift_pct_per_h"]
    journal.heal(drift)
    assert active(meters_url) == []


def test_unknown_meter_is_named(meters_url: str) -> None:
    with pytest.raises(FaultError, match="no emulated meter 'm7'"):
        FaultJournal(context(meters_url)).apply(make_fault("meter.stuck", "m7"))


def test_nothing_listening(tmp_path: Path) -> None:
    from carbonlab.rig.errors import HostError
    (port,) = free_loopback_ports(1)
    with pytest.raises(HostError, match="meters control"):
        FaultJournal(context(f"http://127.0.0.1:{port}")).apply(
            make_fault("meter.offline", "m1"))


def read(port: int) -> Sample:
    """One poll of m1 the way the gateway polls it (Modbus TCP, the t100 register map)."""
    return asyncio.run(read_once(endpoint(port)))


@pytest.mark.parametrize(("fault_id", "params"), [
    ("meter.offline", {}),
    ("meter.exception", {"code": 4}),
    ("meter.calibration", {"mode": "span"}),
    ("meter.slow", {"delay_s": 0.6}),
    ("meter.stuck", {}),
])
def test_meter_fault_is_what_a_poll_sees(meters_proc: tuple[str, int], fault_id: str,
                                         params: dict[str, object]) -> None:
    url, port = meters_proc
    journal = FaultJournal(context(url, port))
    assert read(port).status is SampleStatus.OK
    fault = make_fault(fault_id, "m1", params)
    journal.apply(fault)
    try:
        seen = read(port)
        if fault_id in ("meter.offline", "meter.exception"):
            assert seen.status is SampleStatus.COMM_FAULT, seen
        elif fault_id == "meter.calibration":
            assert seen.status is SampleStatus.CALIBRATING, seen
        elif fault_id == "meter.slow":
            assert seen.status is SampleStatus.OK
            assert seen.latency_s >= 0.6
        else:                                          # stuck: the same values a while later
            time.sleep(2.2)  # the behaviour under test: 2 s in which the served values must not move
            assert read(port).values == seen.values
    finally:
        journal.heal(fault)
    healed = read(port)
    assert healed.status is SampleStatus.OK, healed
    if fault_id == "meter.stuck":                             # the profile moves again
        moved = wait_until(lambda: (s := read(port)).values != healed.values and s, 15,
                           "m1's served values moved after the heal", poll_s=0.2)
        assert moved.values != healed.values


def test_a_fault_on_a_physical_meter_is_refused_and_switches_nothing(meters_proc: tuple[str, int]) -> None:
    url, port = meters_proc
    journal = FaultJournal(FaultContext(meters={"m1": PhysicalMeter(endpoint(port))}))
    with pytest.raises(PhysicalMeterError, match="meter m1 is physical: faults cannot be switched"):
        journal.apply(make_fault("meter.offline", "m1"))
    assert "apply: meter m1 is physical" in journal.records[0].error
    assert active(url) == []
    assert read(port).status is SampleStatus.OK       # the same device, still answering
