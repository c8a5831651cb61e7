"""The carbonlab_service module: files and directories only when they differ, and a real
process kept running under carbonlab's supervisor (started by start-stop-daemon), restarted
when one of its files changed, brought back by the supervisor when it is SIGKILLed, and a
stamp that reports the service as done only while its files are intact and it runs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from carbonlab.lab.ansible_run import PLAYBOOKS
from tests.waiting import wait_until

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


def test_a_secret_file_belongs_to_the_user_named(tmp_path: Path) -> None:
    """A console's token: mode 0600 and owned by the service's user, who must read it; as root
    (CI) the file is given away to `nobody`, otherwise to the user running the test."""
    import pwd

    owner = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    token = tmp_path / "client-n1.token"
    args = {"files": [{"dest": str(token), "content": "t0k3n\n", "mode": "0600", "owner": owner}]}
    assert _module(tmp_path, args)["changed"]
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.stat().st_uid == pwd.getpwnam(owner).pw_uid
    assert not _module(tmp_path, args)["changed"]


def _service_args(tmp_path: Path) -> dict[str, Any]:
    run_dir, log_dir = tmp_path / "run", tmp_path / "log"
    return {
        "name": "svc", "argv": [shutil.which("sleep") or "/bin/sleep", "300"],
        "supervisor": [str(BIN / "carbonlab"), "supervise"], "restart_s": 0.2,
        "dirs": [{"path": str(run_dir), "mode": "0755", "owner": ""},
                 {"path": str(log_dir), "mode": "0755", "owner": ""}],
        "files": [{"dest": str(tmp_path / "svc.conf"), "content": "one\n", "mode": "0644"}],
        "run_dir": str(run_dir), "log_dir": str(log_dir), "chdir": str(tmp_path), "stop_grace_s": 2,
        "digest": "d1"}


def _wait_for(what: str, check: Any, timeout_s: float = 30.0) -> Any:
    return wait_until(check, timeout_s, what)


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


@pytest.fixture
def ended(tmp_path: Path) -> Any:
    """Every supervisor and service the test's run directory names, SIGKILLed at the end."""
    yield
    for pidfile in sorted((tmp_path / "run").glob("*.pid"), key=lambda f: "supervisor" not in f.name):
        pid = _pid(pidfile)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") if pid else ""
        if pid is not None and str(tmp_path) in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.usefixtures("ended")
def test_service_starts_once_and_restarts_when_its_file_changes(tmp_path: Path) -> None:
    if shutil.which("start-stop-daemon") is None:
        pytest.skip("start-stop-daemon is not installed")
    args = _service_args(tmp_path)
    run_dir, conf = tmp_path / "run", tmp_path / "svc.conf"
    first = _module(tmp_path, args)
    assert first["started"], first
    assert not first["_failed"], first
    sup = _wait_for("the supervisor", lambda: _pid(run_dir / "svc.supervisor.pid"))
    child = _wait_for("the service", lambda: _pid(run_dir / "svc.pid"))
    assert Path(f"/proc/{child}/status").read_text().count(f"PPid:\t{sup}\n") == 1
    again = _module(tmp_path, args)
    assert not again["changed"], again
    assert not again["started"], again
    assert _pid(run_dir / "svc.supervisor.pid") == sup
    args["files"][0]["content"] = "two\n"
    changed = _module(tmp_path, args)
    assert changed["started"], changed
    assert changed["files_changed"] == [str(conf)], changed
    assert not Path(f"/proc/{sup}").exists(), "the old supervisor was not stopped"
    assert not Path(f"/proc/{child}").exists(), "the old service was not stopped"
    assert _wait_for("the new supervisor", lambda: _pid(run_dir / "svc.supervisor.pid")) != sup


@pytest.mark.usefixtures("ended")
def test_sigkilled_service_comes_back_by_itself(tmp_path: Path) -> None:
    if shutil.which("start-stop-daemon") is None:
        pytest.skip("start-stop-daemon is not installed")
    args = _service_args(tmp_path)
    run_dir = tmp_path / "run"
    assert _module(tmp_path, args)["started"]
    child = _wait_for("the service", lambda: _pid(run_dir / "svc.pid"))
    os.kill(child, signal.SIGKILL)
    back = _wait_for("the service to come back", lambda: (p := _pid(run_dir / "svc.pid")) != child and p)
    assert back != child
    log = (tmp_path / "log" / "svc.log").read_text()
    assert f'"event":"exit","pid":{child},"rc":null,"signal":"SIGKILL"' in log
    assert '"event":"restart"' in log


@pytest.mark.usefixtures("ended")
def test_stamp_reports_a_service_only_while_it_is_as_laid_out(tmp_path: Path) -> None:
    if shutil.which("start-stop-daemon") is None:
        pytest.skip("start-stop-daemon is not installed")
    args = _service_args(tmp_path)
    run_dir = tmp_path / "run"
    facts = {"stamps_dir": str(run_dir)}
    assert _module(tmp_path, facts)["stamps"] == {}
    assert _module(tmp_path, args)["started"]
    _wait_for("the supervisor", lambda: _pid(run_dir / "svc.supervisor.pid"))
    assert _module(tmp_path, facts)["stamps"] == {"svc": "d1"}
    (tmp_path / "svc.conf").write_text("edited by hand\n")           # a file no longer as written
    assert _module(tmp_path, facts)["stamps"] == {}
    assert _module(tmp_path, args)["started"]                        # rewritten and restarted
    sup = _wait_for("the supervisor", lambda: _pid(run_dir / "svc.supervisor.pid"))
    assert _module(tmp_path, facts)["stamps"] == {"svc": "d1"}
    os.kill(sup, signal.SIGTERM)                                      # the service stopped
    _wait_for("the supervisor to go", lambda: _pid(run_dir / "svc.supervisor.pid") is None)
    assert _module(tmp_path, facts)["stamps"] == {}


def test_supervisor_manager_needs_the_supervisor_command(tmp_path: Path) -> None:
    args = {**_service_args(tmp_path), "supervisor": []}
    failed = _module(tmp_path, args)
    assert failed["_failed"]
    assert "svc: manager supervisor needs supervisor" in failed["msg"]
