"""Real Modbus RTU on a serial line: a socat pty pair, or the pacing relay's ptys; several meters
(device ids) on one bus, one poller worker per bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from carbonlab.gateway.registermap import load_register_map
from carbonlab.gateway.sample import Sample, SampleStatus
from tests.integration.modbus.modbus_helpers import (
    VALUES_TOLERANCE,
    Polling,
    assert_matches_truth,
    collect,
    collect_until,
    control_of,
    gateway_view,
    read_truth,
    running_meters,
    seconds_with,
    socat_pair,
    until_truth,
)


def _bus_meters(port: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"id": "r1", "register_map": "t100", "transport": "rtu", "serial_port": port, "device_id": 1,
         "baudrate": 9600, **extra},
        {"id": "r2", "register_map": "daq_4_20ma", "transport": "rtu", "serial_port": port, "device_id": 2,
         "baudrate": 9600, **extra},
    ]


def _check_against_truth(samples: list[Sample], tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        truth = read_truth(tmp_path / "truth", entry["id"])
        regmap = load_register_map(entry["register_map"])
        ranges = {c.name: c.max - c.min for c in regmap.channels}
        for s in samples:
            if s.meter_id == entry["id"] and s.status is SampleStatus.OK:
                assert_matches_truth(s, truth, VALUES_TOLERANCE[regmap.name], ranges)


def test_two_meters_on_one_socat_bus(tmp_path: Path) -> None:
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entries = _bus_meters(meter_side, sample_period_s=0.25)

        async def scenario() -> list[Sample]:
            async with running_meters(tmp_path, entries):
                views = [gateway_view(e, tmp_path / "gw.toml", serial_port=gw_side) for e in entries]
                return await collect_until(views, 6)

        samples = asyncio.run(scenario())
    for meter_id in ("r1", "r2"):
        mine = [s for s in samples if s.meter_id == meter_id]
        assert len(mine) >= 6
        assert {s.status for s in mine} == {SampleStatus.OK}
    _check_against_truth(samples, tmp_path, entries)


RTU_FAULTS: dict[str, dict[str, Any]] = {
    "offline": {"offline": True},
    "slow_late_reply": {"slow_s": 0.6},
    "wrong_device_id": {"wrong_device_id": 2},   # answers as the other meter on the bus
    "garbage_bytes": {"garbage_bytes": 9},
    "exception": {"exception_code": 6},
}


@pytest.mark.parametrize("fault", sorted(RTU_FAULTS))
def test_rtu_fault_on_one_meter_leaves_the_other_correct(tmp_path: Path, fault: str) -> None:
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entries = _bus_meters(meter_side, sample_period_s=0.25, timeout_s=0.3, retries=0)
        kept: list[Sample] = []

        async def scenario() -> None:
            async with running_meters(tmp_path, entries) as process, control_of(process) as control:
                views = [gateway_view(e, tmp_path / "gw.toml", serial_port=gw_side) for e in entries]
                async with Polling(views) as polling:
                    await polling.until(lambda s: s.status is SampleStatus.OK, "r1")
                    await control.set_faults("r1", **RTU_FAULTS[fault])
                    await polling.until(lambda s: s.status is SampleStatus.COMM_FAULT, "r1")
                    # the healthy neighbour keeps answering while r1 misbehaves
                    await polling.until_count(lambda s: s.status is SampleStatus.OK, "r2", 3)
                    during = polling.take()
                    await control.clear_faults("r1")
                    await polling.until(lambda s: s.status is SampleStatus.OK, "r1", timeout_s=15)
                    await polling.until_count(lambda s: s.status is SampleStatus.OK, "r2", 1)
                    kept.extend(during + polling.take())

        asyncio.run(scenario())
    # the healthy meter kept answering while its neighbour misbehaved
    assert any(s.meter_id == "r2" and s.status is SampleStatus.OK for s in kept)
    # and no reply was ever handed to the wrong request: every OK value is one the meter served
    _check_against_truth(kept, tmp_path, entries)


def test_paced_bus_created_by_the_meters_process(tmp_path: Path) -> None:
    bus, gw_link = tmp_path / "bus1", tmp_path / "bus1-gw"
    entries = _bus_meters(str(bus), sample_period_s=1.0)

    async def scenario() -> list[Sample]:
        buses = {str(bus): {"baudrate": 9600, "paced": True, "gateway_link": str(gw_link)}}
        async with running_meters(tmp_path, entries, serial_buses=buses):
            assert gw_link.is_symlink()
            views = [gateway_view(e, tmp_path / "gw.toml", serial_port=str(gw_link)) for e in entries]
            return await collect_until(views, 2)

    samples = asyncio.run(scenario())
    assert not gw_link.exists()   # the relay removed its links
    assert {s.status for s in samples} == {SampleStatus.OK}
    assert {s.meter_id for s in samples} == {"r1", "r2"}
    _check_against_truth(samples, tmp_path, entries)


def test_a_dead_meter_does_not_starve_its_bus(tmp_path: Path) -> None:
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entries = _bus_meters(meter_side, sample_period_s=0.25, timeout_s=0.5, retries=0)
        window: list[Sample] = []

        async def scenario() -> None:
            async with running_meters(tmp_path, entries) as process, control_of(process) as control:
                views = [gateway_view(e, tmp_path / "gw.toml", serial_port=gw_side) for e in entries]
                async with Polling(views) as polling:
                    await polling.until(lambda s: s.status is SampleStatus.OK, "r1")
                    await control.set_faults("r1", offline=True)
                    await polling.until(lambda s: "next attempt in" in s.detail, "r1")
                    polling.take()
                    # the window is 12 due ticks of the dead r1: how many answers did r2 get meanwhile
                    await polling.until_count(lambda s: True, "r1", 12)
                    window.extend(polling.take())

        asyncio.run(scenario())
    dead = [s for s in window if s.meter_id == "r1"]
    alive = [s for s in window if s.meter_id == "r2" and s.status is SampleStatus.OK]
    assert {s.status for s in dead} == {SampleStatus.COMM_FAULT}
    # r1 still yields a sample per due tick, mostly without touching the line, so r2 keeps its rate
    assert sum("next attempt in" in s.detail for s in dead) > len(dead) / 2
    assert len(alive) >= 0.75 * len(dead)


def test_each_meter_on_a_bus_keeps_its_own_rate(tmp_path: Path) -> None:
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entries = _bus_meters(meter_side)
        entries[0]["sample_period_s"], entries[1]["sample_period_s"] = 0.2, 1.0

        async def scenario() -> list[Sample]:
            async with running_meters(tmp_path, entries):
                views = [gateway_view(e, tmp_path / "gw.toml", serial_port=gw_side) for e in entries]
                return await collect(views, 4.1)

        samples = asyncio.run(scenario())
    fast = sum(s.meter_id == "r1" for s in samples)
    slow = sum(s.meter_id == "r2" for s in samples)
    assert slow >= 3
    assert fast >= 3 * slow


RTU_STATUS_FAULTS: dict[str, tuple[dict[str, Any], SampleStatus]] = {
    "zero_calibration": ({"calibration": "zero"}, SampleStatus.CALIBRATING),
    "span_calibration": ({"calibration": "span"}, SampleStatus.CALIBRATING),
    "maintenance": ({"maintenance": True}, SampleStatus.MAINTENANCE),
    "invalid": ({"invalid": True}, SampleStatus.INVALID),
}


def test_register_faults_over_rtu(tmp_path: Path) -> None:
    """Status faults, then drift, stuck and spikes, on a meter of a socat bus: every polled value is
    the one the truth log says was served, faults included."""
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entries = _bus_meters(meter_side, sample_period_s=0.25)
        kept: list[Sample] = []

        async def scenario() -> None:
            async with running_meters(tmp_path, entries) as process, control_of(process) as control:
                views = [gateway_view(e, tmp_path / "gw.toml", serial_port=gw_side) for e in entries]
                async with Polling(views) as polling:
                    await polling.until(lambda s: s.status is SampleStatus.OK, "r2")
                    for fields, status in RTU_STATUS_FAULTS.values():
                        await control.set_faults("r2", **fields)
                        await polling.until(lambda s, want=status: s.status is want, "r2")
                        await control.clear_faults("r2")
                        await polling.until(lambda s: s.status is SampleStatus.OK, "r2")
                    polling.take()
                    for fields in ({"drift_pct_per_h": 3600.0}, {"stuck": True},
                                   {"spike_every_s": 2, "spike_pct": 3.0}):
                        await control.set_faults("r2", **fields)
                        fault = next(iter(fields))
                        await until_truth(tmp_path / "truth", "r2", seconds_with(fault, 2),
                                          f"two seconds served with only {fault}")
                        await control.clear_faults("r2")
                    await until_truth(tmp_path / "truth", "r2", lambda rows: rows[-1]["faults"] == [],
                                      "a second with no fault")
                    await polling.until_count(lambda s: s.status is SampleStatus.OK, "r2", 1)
                    kept.extend(polling.take())

        asyncio.run(scenario())
    truth = read_truth(tmp_path / "truth", "r2")
    faulted = {r["t"] for r in truth.values() if r["faults"]}
    assert any(int(s.t) in faulted for s in kept if s.meter_id == "r2")
    seen = {s for r in truth.values() for s in r.get("statuses", [r["status"]])}
    assert seen >= {"ok", "calibrating", "maintenance", "invalid"}
    _check_against_truth(kept, tmp_path, entries)
