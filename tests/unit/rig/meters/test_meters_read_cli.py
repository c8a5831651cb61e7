"""`carbonlab meters read`: a one-shot read says what failed, and no more than happened."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from carbonlab.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_promises_no_retry(capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    assert main(["meters", "read", "--register-map", "t100", "--port", str(port), "--timeout-s", "0.5"]) == 1
    detail = json.loads(capsys.readouterr().out)["detail"]
    assert detail.startswith("connect failed: ConnectionRefusedError")
    assert "retry in" not in detail


def test_a_missing_serial_device_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = tmp_path / "nodev"
    assert main(["meters", "read", "--register-map", "t100", "--transport", "rtu", "--serial-port", str(dev),
                 "--timeout-s", "0.5"]) == 1
    detail = json.loads(capsys.readouterr().out)["detail"]
    assert detail == f"connect failed: {dev}: No such file or directory ({dev})"


@pytest.mark.parametrize(("argv", "message"), [
    (["--register-map", "t100", "--serial-port", "/dev/ttyS0"], "--serial-port: only with --transport rtu"),
    (["--register-map", "/dev/zero"], "/dev/zero: cannot read register map: not a regular file"),
])
def test_arguments_that_cannot_work_are_refused(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                message: str) -> None:
    assert main(["meters", "read", *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_alias_bomb_map_is_refused_before_any_read(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    rows = ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9))
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(f'name: bomb\ndescription: [&a0 ["x"], {rows}]\n')
    assert main(["meters", "read", "--register-map", str(bomb), "--port", str(_closed_port())]) == 2
    assert "aliases expand to more than 10,000 nodes" in capsys.readouterr().err
