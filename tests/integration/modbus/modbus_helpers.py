"""Helpers for the real-Modbus tests: run a meters process in the test's event loop, a socat pty
pair, a poller collecting samples, and the truth logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.poller import Poller
from carbonlab.gateway.sample import Sample
from carbonlab.loopback import free_loopback_port
from carbonlab.rig.meters.config import parse_meters_config
from carbonlab.rig.meters.control import ControlClient
from carbonlab.rig.meters.process import MetersProcess
from tests.waiting import asyncio_wait_until

VALUES_TOLERANCE = {"t100": 1e-6, "float_inverse": 1e-6, "daq_4_20ma": 1.0 / 25600}


def tcp_meter(meter_id: str, regmap: str, **extra: Any) -> dict[str, Any]:
    return {"id": meter_id, "register_map": regmap, "transport": "tcp", "host": "127.0.0.1",
            "port": free_loopback_port(), "device_id": 1, **extra}


def gateway_view(entry: dict[str, Any], path: Path, **changes: Any) -> MeterEndpoint:
    """The gateway's endpoint for a meter of the METERS.yaml (serial_port may differ: the other pty)."""
    d = {k: v for k, v in entry.items() if k != "profile"}
    d.update(changes)
    return MeterEndpoint.from_dict(d, path)


@contextlib.asynccontextmanager
async def running_meters(tmp_path: Path, meters: list[dict[str, Any]],
                         **top: Any) -> AsyncIterator[MetersProcess]:
    raw = {"seed": 7, "truth_dir": "truth", "control_listen": f"127.0.0.1:{free_loopback_port()}",
           "meters": meters, **top}
    config = parse_meters_config(raw, tmp_path / "meters.yaml")
    process = MetersProcess(config)
    task = asyncio.create_task(process.run())
    try:
        async with asyncio.timeout(10):
            await process.ready.wait()
        yield process
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def control_of(process: MetersProcess) -> AsyncIterator[ControlClient]:
    assert process.control is not None
    client = ControlClient(f"http://{process.control.host}:{process.control.port}")
    try:
        yield client
    finally:
        await client.aclose()


async def collect(endpoints: list[MeterEndpoint], seconds: float) -> list[Sample]:
    """Poll for `seconds` and return every sample: for tests of a rate, where the time is the point."""
    samples: list[Sample] = []

    async def sink(sample: Sample) -> None:
        samples.append(sample)

    poller = Poller(endpoints, sink)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(seconds)  # the observation window is the behaviour under test
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return samples


class Polling:
    """A poller running in the background; `take()` returns the samples since the last take."""

    def __init__(self, endpoints: list[MeterEndpoint]) -> None:
        self.samples: list[Sample] = []
        self.poller = Poller(endpoints, self._sink)
        self.task: asyncio.Task[None] | None = None

    async def _sink(self, sample: Sample) -> None:
        self.samples.append(sample)

    async def __aenter__(self) -> Polling:
        self.task = asyncio.create_task(self.poller.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    def take(self) -> list[Sample]:
        out, self.samples = self.samples, []
        return out

    async def until_count(self, predicate: Callable[[Sample], bool], meter_id: str, count: int,
                          timeout_s: float = 15.0) -> list[Sample]:
        """Wait until `count` samples of `meter_id` since the last take satisfy predicate; keep them all."""
        def matching() -> list[Sample]:
            return [s for s in self.samples if s.meter_id == meter_id and predicate(s)]
        return await asyncio_wait_until(lambda: len(matching()) >= count and matching(), timeout_s,
                                        f"{count} matching samples of {meter_id}")

    async def until(self, predicate: Any, meter_id: str, timeout_s: float = 10.0) -> Sample:
        """Wait for a sample of `meter_id` satisfying predicate; the samples before it are dropped."""
        async with asyncio.timeout(timeout_s):
            while True:
                for i, s in enumerate(self.samples):
                    if s.meter_id == meter_id and predicate(s):
                        self.samples = self.samples[i + 1:]
                        return s
                await asyncio.sleep(0.05)


async def collect_until(endpoints: list[MeterEndpoint], per_meter: int,
                        timeout_s: float = 30.0) -> list[Sample]:
    """Poll until every endpoint yielded `per_meter` samples, and return every sample."""
    async with Polling(endpoints) as polling:
        await asyncio_wait_until(
            lambda: all(sum(s.meter_id == e.id for s in polling.samples) >= per_meter for e in endpoints),
            timeout_s, f"{per_meter} samples of each of {[e.id for e in endpoints]}")
        return polling.take()


def truth_rows(truth_dir: Path, meter_id: str) -> list[dict[str, Any]]:
    """The complete lines of a truth log written so far (none while the file does not exist)."""
    try:
        text = (truth_dir / f"{meter_id}.jsonl").read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


async def until_truth(truth_dir: Path, meter_id: str, predicate: Callable[[list[dict[str, Any]]], bool],
                      what: str, timeout_s: float = 15.0) -> list[dict[str, Any]]:
    """Wait until the truth log of `meter_id` so far satisfies predicate; return its rows."""
    def satisfied() -> list[dict[str, Any]] | None:
        rows = truth_rows(truth_dir, meter_id)
        return rows if rows and predicate(rows) else None
    return await asyncio_wait_until(satisfied, timeout_s, f"truth of {meter_id}: {what}")


def rows_with(rows: list[dict[str, Any]], fault: str) -> list[dict[str, Any]]:
    """The truth rows of the seconds in which `fault` alone was set."""
    return [r for r in rows if r["faults"] == [fault]]


def seconds_with(fault: str, count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """A truth predicate: `count` seconds were served with `fault` alone set."""
    return lambda rows: len(rows_with(rows, fault)) >= count


def read_truth(truth_dir: Path, meter_id: str) -> dict[int, dict[str, Any]]:
    lines = (truth_dir / f"{meter_id}.jsonl").read_text().splitlines()
    return {row["t"]: row for row in map(json.loads, lines)}


def assert_matches_truth(sample: Sample, truth: dict[int, dict[str, Any]], tolerance: float,
                         ranges: dict[str, float]) -> None:
    """The sample's values are what the meter served in the second it was polled (or the next,
    when the poll straddled a second boundary). A second in which a fault switch changed the
    served values (`changed` in its truth line) is ambiguous and accepted."""
    second = int(sample.t)
    lines = [truth[t] for t in (second, second + 1) if t in truth]
    assert lines, f"no truth for second {second}"
    for line in lines:
        served = line["served"]
        # every channel of the meter's map was served (the profile serves more than some maps read)
        if all(abs(v - served[k]) <= tolerance * ranges[k] + 1e-9 * abs(served[k])
               for k, v in sample.values.items()):
            return
    if any(line.get("changed") for line in lines):
        return
    raise AssertionError(f"{sample} matches none of {[line['served'] for line in lines]}")


@contextlib.contextmanager
def socat_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A pty pair made by socat: (meter side, gateway side). Killed by PID, also on failure."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (./dev installs it as root)")
    a, b = tmp_path / "pty-meter", tmp_path / "pty-gw"
    proc = subprocess.Popen(["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"socat did not create the ptys: {why!r}")
            time.sleep(0.05)
        yield str(a), str(b)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()
        for p in (a, b):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
