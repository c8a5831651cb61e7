"""The gateway and emulated-meters processes log JSON lines (carbonlab.logs), and the gateway logs
a meter's transitions: one `meter_failing` line with the reason when a real Modbus meter starts
answering with exception responses, one `meter_recovered` line when it answers again, none per poll."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.loopback import free_loopback_ports
from carbonlab.node.crypto import Signer
from carbonlab.rig.meters.control import ControlClient
from tests.integration.gateway.gwrig import (
    CARBONLAB,
    Proc,
    wait_for_port,
    write_gateway_toml,
    write_genesis,
    write_meters_yaml,
)
from tests.waiting import WaitTimeout, wait_until

METERS = ("m1", "m2")


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a process's log that is JSON; a line that starts like JSON must parse."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def wait_for_line(path: Path, want: dict[str, Any], timeout_s: float) -> None:
    try:
        wait_until(lambda: any(want.items() <= line.items() for line in json_lines(path)), timeout_s,
                   f"a line with {want} in {path}", poll_s=0.1)
    except WaitTimeout as exc:
        raise AssertionError(f"{exc}:\n{path.read_text()[-3000:]}") from exc


def comm_faults(port: int, meter: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    want = f'carbonlab_gateway_polls_total{{meter="{meter}",result="comm_fault"}} '
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(want))


async def set_faults(port: int, meter: str, **faults: Any) -> None:
    client = ControlClient(f"http://127.0.0.1:{port}")
    try:
        if faults:
            await client.set_faults(meter, **faults)
        else:
            await client.clear_faults(meter)
    finally:
        await client.aclose()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_meter_exception_responses_log_one_failing_and_one_recovered_line(tmp_path: Path) -> None:
    gw_key = Signer.generate()
    gw_key.save(tmp_path / "gw1.key")
    write_genesis(tmp_path / "genesis.json", gw_key, METERS, members=[Signer.generate()], interval_s=2)
    *meter_ports, metrics_port, node_port, control_port = free_loopback_ports(len(METERS) + 3)
    write_meters_yaml(tmp_path / "meters.yaml", METERS, meter_ports, sample_period_s=0.2)
    doc = yaml.safe_load((tmp_path / "meters.yaml").read_text())
    doc["control_listen"] = f"127.0.0.1:{control_port}"
    (tmp_path / "meters.yaml").write_text(yaml.safe_dump(doc))
    # no node listens on node_port: the uplink fails, which must not matter here
    write_gateway_toml(tmp_path / "gateway.toml", nodes=[f"http://127.0.0.1:{node_port}"], meters=METERS,
                       ports=meter_ports, interval_s=2, sample_period_s=0.2, metrics_port=metrics_port)
    gw_log, meters_log = tmp_path / "gateway.log", tmp_path / "meters.log"
    with ExitStack() as stack:
        meters = Proc([*CARBONLAB, "meters", "serve", "--config", "meters.yaml"], tmp_path, meters_log)
        stack.callback(meters.stop)
        for port in [*meter_ports, control_port]:
            wait_for_port(port)
        gw = Proc([*CARBONLAB, "gateway", "run", "--config", "gateway.toml"], tmp_path, gw_log)
        stack.callback(gw.stop)
        wait_for_port(metrics_port)
        asyncio.run(set_faults(control_port, "m1", exception_code=4))
        wait_for_line(gw_log, {"event": "meter_failing", "meter": "m1"}, 30)
        # keep failing until at least 10 polls got the exception (the gateway's own counter)
        wait_until(lambda: comm_faults(metrics_port, "m1") >= 10, 30, "10 of m1's polls failed", poll_s=0.1)
        asyncio.run(set_faults(control_port, "m1"))
        wait_for_line(gw_log, {"event": "meter_recovered", "meter": "m1"}, 30)
        assert gw.stop() == 0
        assert meters.stop() == 0

    gw_lines = json_lines(gw_log)
    raw = [line for line in gw_log.read_text().splitlines() if line.strip()]
    assert len(gw_lines) == len(raw), f"gateway log lines that are not JSON: {raw}"
    for line in gw_lines:
        assert {"ts", "level", "logger", "msg"} <= line.keys()
        assert (line["process"], line["gateway"]) == ("gateway", "gw1")
    events = [line for line in gw_lines if line.get("event", "").startswith("meter_")]
    assert [(e["event"], e["meter"]) for e in events] == [("meter_failing", "m1"), ("meter_recovered", "m1")]
    failing, recovered = events
    assert failing["level"] == "warning"
    assert failing["reason"] == "exception response 0x04 to read registers"
    assert recovered["level"] == "info"
    assert recovered["failed_polls"] >= 10   # many failed polls, one line
    assert recovered["down_s"] > 0

    meter_lines = json_lines(meters_log)
    assert meter_lines, meters_log.read_text()
    for line in meter_lines:
        assert {"ts", "level", "logger", "msg"} <= line.keys()
        assert (line["process"], line["meters"]) == ("meters", "meters.yaml")
    assert any(line["msg"].startswith("serving 2 meters") for line in meter_lines)
