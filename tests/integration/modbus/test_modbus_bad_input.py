"""Bad frames, bad maps and bad configuration: rejected with clear errors, never a crash."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.poller import read_once
from carbonlab.gateway.sample import SampleStatus
from carbonlab.loopback import free_loopback_port
from tests.integration.modbus.modbus_helpers import gateway_view, running_meters, tcp_meter


async def _short_reply_server(port: int, registers: int, writers: set[asyncio.StreamWriter],
                             bit_bytes: int = 0) -> asyncio.Server:
    """A fake Modbus TCP device (a deterministic protocol fake): register reads get `registers`
    registers and bit reads `bit_bytes` bytes of bits, whatever was asked."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            while True:
                head = await reader.readexactly(7)
                tid, _proto, length, unit = struct.unpack(">HHHB", head)
                pdu = await reader.readexactly(length - 1)
                fc = pdu[0]
                if fc in (1, 2):
                    body = bytes([fc, bit_bytes]) + b"\xff" * bit_bytes
                else:
                    body = bytes([fc, registers * 2]) + b"\x00\x01" * registers
                writer.write(struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", port)


@pytest.mark.parametrize(("registers", "bit_bytes", "message"), [
    (4, 2, "asked for 108 registers, reply carries 4"),
    (110, 2, "asked for 108 registers, reply carries 110"),
    (108, 0, "asked for 12 bits, reply carries 0"),
    (108, 4, "asked for 12 bits, reply carries 32"),
])
def test_reply_with_wrong_count_is_a_comm_fault(tmp_path: Path, registers: int, bit_bytes: int,
                                                message: str) -> None:
    port = free_loopback_port()
    entry = tcp_meter("m1", "t100", timeout_s=0.5, retries=0) | {"port": port}
    endpoint = gateway_view(entry, tmp_path / "g")

    async def scenario() -> None:
        writers: set[asyncio.StreamWriter] = set()
        server = await _short_reply_server(port, registers, writers, bit_bytes)
        try:
            sample = await read_once(endpoint)
        finally:
            server.close()
            for writer in writers:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
            await server.wait_closed()
        assert sample.status is SampleStatus.COMM_FAULT
        assert message in sample.detail

    asyncio.run(scenario())


def test_gateway_map_that_does_not_fit_the_meter(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "float_inverse")

    async def scenario() -> None:
        async with running_meters(tmp_path, [entry]):
            sample = await read_once(gateway_view(entry, tmp_path / "g", register_map="t100"))
        assert sample.status is SampleStatus.COMM_FAULT
        assert "exception response 0x02" in sample.detail   # illegal data address

    asyncio.run(scenario())


CARBONLAB = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())"]


def _carbonlab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CARBONLAB, *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.parametrize(("doc", "message"), [
    ({"meters": []}, "field 'meters': must be a non-empty list"),
    ({"meters": [{"id": "m1", "register_map": "t100", "port": 99999}]}, "field 'port': must be an integer"),
    ({"meters": [{"id": "m1", "register_map": "t100", "profile": {"co2_basis": "moist"}}]},
     "field 'meters[0].profile.co2_basis': must be one of wet, dry, got 'moist'"),
    ({"meters": [{"id": "m1", "register_map": "t100", "transport": "rtu",
                  "serial_port": "/nonexistent/tty"}]},
     "is neither a bus in serial_buses"),
    ({"colour": 1, "meters": []}, "field 'colour': unknown field"),
])
def test_bad_meters_yaml_is_one_clear_line(tmp_path: Path, doc: dict[str, object], message: str) -> None:
    config = tmp_path / "meters.yaml"
    config.write_text(yaml.safe_dump(doc))
    result = _carbonlab("meters", "serve", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith("carbonlab: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_and_read_from_the_command_line(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "daq_4_20ma")
    config = tmp_path / "meters.yaml"
    config.write_text(yaml.safe_dump({"seed": 1, "truth_dir": "truth", "meters": [entry]}))
    proc = subprocess.Popen([*CARBONLAB, "meters", "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "meters serve printed nothing in 120 s"
        assert proc.stdout.readline().startswith("serving 1 meters")
        result = _carbonlab("meters", "read", "--register-map", "daq_4_20ma", "--port", str(entry["port"]))
        assert result.returncode == 0, result.stderr
        assert '"status": "ok"' in result.stdout
        assert '"co2_pct"' in result.stdout
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == 0
    assert (tmp_path / "truth" / "m1.jsonl").read_text().strip()
    dead = _carbonlab("meters", "read", "--register-map", "t100", "--port", str(entry["port"]),
                      "--timeout-s", "0.3")
    assert dead.returncode == 1
    assert '"status": "comm_fault"' in dead.stdout


def test_endpoint_rejects_bad_register_map_file(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(yaml.safe_dump({"name": "mine", "table": "input", "encoding": "float16", "channels": {},
                                   "discrete_inputs": {}, "coils": {}}))
    with pytest.raises(Exception, match="field 'encoding': must be one of float32, counts_4_20ma") as info:
        MeterEndpoint.from_dict({"id": "m1", "register_map": "mine.yaml"}, tmp_path / "gw.toml")
    assert str(bad) in str(info.value)


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        entry = tcp_meter("m1", "t100") | {"port": taken.getsockname()[1]}
        config = tmp_path / "meters.yaml"
        config.write_text(yaml.safe_dump({"meters": [entry]}))
        result = _carbonlab("meters", "serve", "--config", str(config))
    assert result.returncode == 2
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_truth_dir_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the truth folder should be")
    config = tmp_path / "meters.yaml"
    config.write_text(yaml.safe_dump({"truth_dir": "blocked/truth", "meters": [tcp_meter("m1", "t100")]}))
    result = _carbonlab("meters", "serve", "--config", str(config))
    assert result.returncode == 2
    assert "field 'truth_dir': cannot write" in result.stderr
    assert "Traceback" not in result.stderr
