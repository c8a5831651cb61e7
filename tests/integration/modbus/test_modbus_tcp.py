"""Real Modbus over TCP: emulated meters (pymodbus SimDevice servers) polled by the gateway poller."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymodbus.client import AsyncModbusTcpClient

from carbonlab.gateway.poller import Poller, read_once
from carbonlab.gateway.registermap import load_register_map
from carbonlab.gateway.sample import Sample, SampleStatus
from tests.integration.modbus.modbus_helpers import (
    VALUES_TOLERANCE,
    Polling,
    assert_matches_truth,
    collect_until,
    control_of,
    gateway_view,
    read_truth,
    rows_with,
    running_meters,
    seconds_with,
    tcp_meter,
    until_truth,
)
from tests.waiting import asyncio_wait_until

MAPS = ("t100", "float_inverse", "daq_4_20ma")


def _ranges(regmap: str) -> dict[str, float]:
    return {c.name: c.max - c.min for c in load_register_map(regmap).channels}


def test_polled_values_are_what_the_meters_served(tmp_path: Path) -> None:
    entries = [tcp_meter(f"m-{name}", name, sample_period_s=0.25) for name in MAPS]

    async def scenario() -> list[Sample]:
        async with running_meters(tmp_path, entries):
            return await collect_until([gateway_view(e, tmp_path / "gw.toml") for e in entries], 6)

    samples = asyncio.run(scenario())
    for entry in entries:
        mine = [s for s in samples if s.meter_id == entry["id"]]
        assert len(mine) >= 6
        assert {s.status for s in mine} == {SampleStatus.OK}
        truth = read_truth(tmp_path / "truth", entry["id"])
        for s in mine:
            name = entry["register_map"]
            assert_matches_truth(s, truth, VALUES_TOLERANCE[name], _ranges(name))
        assert sum(row["reads"] for row in truth.values()) >= len(mine)


def _ok(s: Sample) -> bool:
    return s.status is SampleStatus.OK


# fault -> (fault fields, expected status while set, fragment of the detail)
FAULTS: dict[str, tuple[dict[str, Any], SampleStatus, str]] = {
    "offline": ({"offline": True}, SampleStatus.COMM_FAULT, "connect"),
    "slow": ({"slow_s": 1.5}, SampleStatus.COMM_FAULT, ""),
    "exception": ({"exception_code": 4}, SampleStatus.COMM_FAULT, "exception response 0x04"),
    "wrong_device_id": ({"wrong_device_id": 9}, SampleStatus.COMM_FAULT, ""),
    "garbage": ({"garbage_bytes": 7}, SampleStatus.COMM_FAULT, ""),
    "zero_calibration": ({"calibration": "zero"}, SampleStatus.CALIBRATING, "zero calibration"),
    "span_calibration": ({"calibration": "span"}, SampleStatus.CALIBRATING, "span calibration"),
    "maintenance": ({"maintenance": True}, SampleStatus.MAINTENANCE, "maintenance"),
    "invalid": ({"invalid": True}, SampleStatus.INVALID, "invalid"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_seen_and_cleared(tmp_path: Path, fault: str) -> None:
    fields, status, fragment = FAULTS[fault]
    entry = tcp_meter("m1", "t100", sample_period_s=0.2, timeout_s=0.5, retries=0)

    async def scenario() -> None:
        async with running_meters(tmp_path, [entry]) as process, control_of(process) as control, \
                Polling([gateway_view(entry, tmp_path / "gw.toml")]) as polling:
            await polling.until(_ok, "m1")
            await control.set_faults("m1", **fields)
            seen = await polling.until(lambda s: s.status is status, "m1")
            assert fragment in seen.detail
            if status is SampleStatus.CALIBRATING and "zero" in fault:
                assert seen.values["co2_pct"] == 0.0
            await control.clear_faults("m1")
            await polling.until(_ok, "m1", timeout_s=15)

    asyncio.run(scenario())


def drift_of(row: dict[str, Any]) -> float:
    return float(row["served"]["co2_pct"] - row["true"]["co2_pct"])


def spiked_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The truth rows with spikes set, less the seconds in which a fault switch changed the values."""
    return [r for r in rows if "spike_every_s" in r["faults"] and not r.get("changed")]


def drift_grew(rows: list[dict[str, Any]]) -> bool:
    drifted = rows_with(rows, "drift_pct_per_h")
    return len(drifted) >= 2 and drift_of(drifted[-1]) > 1.0


def test_value_faults_drift_stuck_spike(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "float_inverse", sample_period_s=0.25)

    async def scenario() -> None:
        async with running_meters(tmp_path, [entry]) as process, control_of(process) as control, \
                Polling([gateway_view(entry, tmp_path / "gw.toml")]) as polling:
            truth_dir = tmp_path / "truth"
            await polling.until(_ok, "m1")
            await control.set_faults("m1", stuck=True)
            polling.take()   # one poll may still have been in flight: the last 5 of 6 are stuck
            stuck = (await polling.until_count(_ok, "m1", 6))[-5:]
            assert len({tuple(sorted(s.values.items())) for s in stuck}) == 1
            await until_truth(truth_dir, "m1", seconds_with("stuck", 3), "three seconds served stuck")
            await control.set_faults("m1", stuck=False, drift_pct_per_h=3600.0)   # 1 % per second
            await until_truth(truth_dir, "m1", drift_grew, "the drift grew past 1.0 co2_pct")
            await control.set_faults("m1", drift_pct_per_h=0.0, spike_every_s=2, spike_pct=5.0)
            await until_truth(truth_dir, "m1", lambda rows: {r["t"] % 2 for r in spiked_rows(rows)} == {0, 1},
                              "a spiked and an unspiked second served")
            await control.clear_faults("m1")
            await until_truth(truth_dir, "m1", lambda rows: rows[-1]["faults"] == [],
                              "a second with no fault")

    asyncio.run(scenario())
    truth = read_truth(tmp_path / "truth", "m1")
    drifted = rows_with(list(truth.values()), "drift_pct_per_h")
    offsets = [drift_of(r) for r in drifted]
    assert len(offsets) >= 2
    assert offsets == sorted(offsets)
    assert offsets[-1] > 1.0
    spiked = spiked_rows(list(truth.values()))
    assert {r["t"] % 2 == 0 for r in spiked} == {True, False}
    for r in spiked:
        expected = r["true"]["co2_pct"] + (5.0 if r["t"] % 2 == 0 else 0.0)
        assert r["served"]["co2_pct"] == pytest.approx(expected)
    stuck_rows = rows_with(list(truth.values()), "stuck")
    assert len({tuple(sorted(r["served"].items())) for r in stuck_rows}) == 1
    assert len({tuple(sorted(r["true"].items())) for r in stuck_rows}) > 1


def test_calibration_coils(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "t100", sample_period_s=0.2)

    async def scenario() -> None:
        view = gateway_view(entry, tmp_path / "gw.toml")
        async with running_meters(tmp_path, [entry]), Polling([view]) as p:
            await p.until(_ok, "m1")
            client = AsyncModbusTcpClient("127.0.0.1", port=entry["port"], timeout=2, retries=0)
            try:
                assert await client.connect()
                reply = await client.write_coil(21, True, device_id=1)   # T-series: span of range 1
                assert not reply.isError()
                seen = await p.until(lambda s: s.status is SampleStatus.CALIBRATING, "m1")
                assert seen.values["co2_pct"] == pytest.approx(15.0)
                assert not (await client.write_coil(21, False, device_id=1)).isError()
                await p.until(_ok, "m1")
            finally:
                client.close()

    asyncio.run(scenario())


def test_first_connect_failure_is_retried(tmp_path: Path) -> None:
    """pymodbus never retries a failed first connect by itself; the poller does."""
    entry = tcp_meter("m1", "t100", sample_period_s=0.2)

    async def scenario() -> None:
        endpoint = gateway_view(entry, tmp_path / "gw.toml")
        async with Polling([endpoint]) as polling:
            await polling.until(lambda s: s.status is SampleStatus.COMM_FAULT, "m1")
            async with running_meters(tmp_path, [entry]):
                await polling.until(_ok, "m1", timeout_s=15)

    asyncio.run(scenario())


def test_metrics_in_the_given_registry(tmp_path: Path) -> None:
    entries = [tcp_meter("m1", "t100", sample_period_s=0.2), tcp_meter("m2", "t100", sample_period_s=0.2)]
    registry = CollectorRegistry()

    def polls(meter: str, result: str) -> float:
        labels = {"meter": meter, "result": result}
        return registry.get_sample_value("carbonlab_gateway_polls_total", labels) or 0.0

    async def scenario() -> None:
        async with running_meters(tmp_path, entries[:1]):
            poller = Poller([gateway_view(e, tmp_path / "gw.toml") for e in entries], asyncio.Queue(),
                            registry=registry)
            task = asyncio.create_task(poller.run())
            await asyncio_wait_until(lambda: polls("m1", "ok") >= 3 and polls("m2", "comm_fault") >= 3, 15,
                                     "three polls of the live m1 and of the absent m2 counted")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    ok = registry.get_sample_value("carbonlab_gateway_polls_total", {"meter": "m1", "result": "ok"})
    labels = {"meter": "m2", "result": "comm_fault"}
    fault = registry.get_sample_value("carbonlab_gateway_polls_total", labels)
    count = registry.get_sample_value("carbonlab_gateway_poll_latency_seconds_count", {"meter": "m1"})
    assert ok is not None
    assert ok >= 3
    assert fault is not None
    assert fault >= 3
    assert count == ok


def test_read_once_reports_a_dead_meter(tmp_path: Path) -> None:
    endpoint = gateway_view(tcp_meter("m1", "t100", timeout_s=0.3), tmp_path / "gw.toml")
    sample = asyncio.run(read_once(endpoint))
    assert sample.status is SampleStatus.COMM_FAULT
    assert "connect" in sample.detail
