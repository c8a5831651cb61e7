"""Debian's mbpoll (libmodbus) reads an emulated meter and gets the values the poller decodes.

The meter is put in the `stuck` fault first, so both readers see the same second's values."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from carbonlab.gateway.poller import read_once
from carbonlab.gateway.registermap import load_register_map
from carbonlab.gateway.sample import Sample, SampleStatus
from tests.integration.modbus.modbus_helpers import (
    control_of,
    gateway_view,
    running_meters,
    socat_pair,
    tcp_meter,
)

pytestmark = pytest.mark.skipif(shutil.which("mbpoll") is None,
                                reason="mbpoll is not installed (./dev installs it as root)")


async def _mbpoll(*args: str) -> dict[int, float]:
    """Run mbpoll once; {1-based reference: value}."""
    proc = await asyncio.create_subprocess_exec("mbpoll", "-1", "-o", "10", *args,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    return {int(ref): float(value) for ref, value in re.findall(r"^\[(\d+)\]:\s+(\S+)", out.decode(), re.M)}


def _expected(values: dict[str, float], name: str) -> dict[str, float]:
    return {k: v for k, v in values.items() if k in {c.name for c in load_register_map(name).channels}}


async def _both(endpoint_entry: dict[str, Any], tmp_path: Path, mbpoll_args: list[list[str]],
                **gw: Any) -> tuple[Sample, list[dict[int, float]]]:
    async with running_meters(tmp_path, [endpoint_entry]) as process, control_of(process) as control:
        await control.set_faults(endpoint_entry["id"], stuck=True)
        sample = await read_once(gateway_view(endpoint_entry, tmp_path / "gw.toml", **gw))
        readings = [await _mbpoll(*a) for a in mbpoll_args]
        return sample, readings


def test_t100_high_word_first(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "t100")
    port = str(entry["port"])
    sample, (co2, o2, status) = asyncio.run(_both(entry, tmp_path, [
        ["-m", "tcp", "-p", port, "-t", "3:float", "-B", "-r", "201", "-c", "1", "127.0.0.1"],
        ["-m", "tcp", "-p", port, "-t", "3:float", "-B", "-r", "101", "-c", "1", "127.0.0.1"],
        ["-m", "tcp", "-p", port, "-t", "1", "-r", "16", "-c", "12", "127.0.0.1"],
    ]))
    assert sample.status is SampleStatus.OK
    assert co2[201] == pytest.approx(sample.values["co2_pct"], rel=1e-5)
    assert o2[101] == pytest.approx(sample.values["o2_pct"], rel=1e-5)
    assert status[20] == 1   # system OK (0-based 19)
    assert status[16] == 0   # invalid concentration (0-based 15)


def test_float_inverse_low_word_first(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "float_inverse")
    sample, (regs,) = asyncio.run(_both(entry, tmp_path, [
        ["-m", "tcp", "-p", str(entry["port"]), "-t", "4:float", "-r", "1", "-c", "12", "127.0.0.1"],
    ]))
    m = load_register_map("float_inverse")
    # heat input is held in GJ/h (factor 3.6) and decoded to MW
    got = {c.name: regs[c.address + 1] / c.factor for c in m.channels}
    assert got == pytest.approx(_expected(sample.values, "float_inverse"), rel=1e-5)


def test_4_20ma_counts_over_rtu(tmp_path: Path) -> None:
    with socat_pair(tmp_path) as (meter_side, gw_side):
        entry = {"id": "r1", "register_map": "daq_4_20ma", "transport": "rtu", "serial_port": meter_side,
                 "device_id": 5, "baudrate": 9600, "parity": "N"}
        sample, (counts,) = asyncio.run(_both(entry, tmp_path, [
            ["-m", "rtu", "-b", "9600", "-P", "none", "-a", "5", "-t", "3", "-r", "1", "-c", "9", gw_side],
        ], serial_port=gw_side))
    m = load_register_map("daq_4_20ma")
    decoded = {c.name: c.min + (counts[c.address + 1] - 6400) / 25600 * (c.max - c.min) for c in m.channels}
    assert decoded == pytest.approx(_expected(sample.values, "daq_4_20ma"), rel=1e-9)


def test_mbpoll_sees_an_exception_response(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "t100")

    async def scenario() -> subprocess.CompletedProcess[bytes]:
        async with running_meters(tmp_path, [entry]) as process, control_of(process) as control:
            await control.set_faults("m1", exception_code=2)
            return await asyncio.to_thread(subprocess.run, ["mbpoll", "-1", "-o", "2", "-m", "tcp", "-p",
                                                            str(entry["port"]), "-t", "3", "-r", "201",
                                                            "127.0.0.1"], capture_output=True, timeout=20)

    result = asyncio.run(scenario())
    assert b"Illegal data address" in result.stdout + result.stderr
