"""The carbonlab_service module: files and directories only when they differ, and a real
process kept running under start-stop-daemon, restarted when one of its files changed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from carbonlab.lab.ansible_run import PLAYBOOKS

BIN = Path(sys.executable).parent


def _module(tmp_path: Path, args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-c", "local", "-M", str(PLAYBOOKS / "library"),
         "-m", "carbonlab_service", "-a", json.dumps(args), "-o"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ANSIBLE_HOME": str(tmp_path / "ansible"),
             "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_LOCALHOST_WARNING": "False"})
    assert "=>" in done.stdout, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.split("=>", 1)[1])
    result["_failed"] = done.returncode != 0
    return result


def test_layout_writes_only_what_differs_and_reads_what_exists(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "a.toml"
    args = {"dirs": [{"path": str(tmp_path / "etc"), "mode": "0750", "owner": ""}],
            "files": [{"dest": str(conf), "content": "x = 1\n", "mode": "0640"}],
            "read": [str(conf), str(tmp_path / "missing")]}
    first = _module(tmp_path, args)
    assert first["changed"]
    assert not first["_failed"]
    assert conf.read_text() == "x = 1\n"
    assert conf.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "etc").stat().st_mode & 0o777 == 0o750
    assert first["contents"] == {str(conf): "x = 1\n"}
    second = _module(tmp_path, args)
    assert not second["changed"], second
    conf.chmod(0o644)
    assert _module(tmp_path, args)["files_changed"] == [str(conf)]


def test_service_starts_once_and_restarts_when_its_file_changes(tmp_path: Path) -> None:
    if shutil.which("start-stop-daemon") is None:
        pytest.skip("start-stop-daemon is not installed")
    run_dir, log_dir = tmp_path / "run", tmp_path / "log"
    conf = tmp_path / "svc.conf"
    args: dict[str, Any] = {
        "name": "svc", "argv": [shutil.which("sleep") or "/bin/sleep", "300"], "process_name": "sleep",
        "dirs": [{"path": str(run_dir), "mode": "0755", "owner": ""},
                 {"path": str(log_dir), "mode": "0755", "owner": ""}],
        "files": [{"dest": str(conf), "content": "one\n", "mode": "0644"}],
        "run_dir": str(run_dir), "log_dir": str(log_dir), "chdir": str(tmp_path), "stop_grace_s": 2}
    pids: list[int] = []
    try:
        first = _module(tmp_path, args)
        assert first["started"], first
        assert not first["_failed"], first
        pids.append(int((run_dir / "svc.pid").read_text()))
        assert Path(f"/proc/{pids[0]}").exists()
        again = _module(tmp_path, args)
        assert not again["changed"], again
        assert not again["started"], again
        assert int((run_dir / "svc.pid").read_text()) == pids[0]
        args["files"][0]["content"] = "two\n"
        changed = _module(tmp_path, args)
        assert changed["started"], changed
        assert changed["files_changed"] == [str(conf)], changed
        pids.append(int((run_dir / "svc.pid").read_text()))
        assert pids[1] != pids[0]
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pids[0]}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pids[0]}").exists(), "the old process was not stopped"
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
