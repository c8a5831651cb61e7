"""The service supervisor on real processes: a SIGKILLed child comes back after the backoff, a
clean exit is final, a crash loop hits the start limit, a hold keeps a killed child down until
released, a stop ends the child (also one that ignores SIGTERM), and a SIGKILLed supervisor
leaves no orphan."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carbonlab.lab.proc import alive, start_time
from carbonlab.lab.supervisor import PROCESS_NAME, SupervisorStatus, paths
from tests.waiting import WaitTimeout, wait_until

CARBONLAB = Path(sys.executable).parent / "carbonlab"
SLEEPER = "import time\nwhile True: time.sleep(0.2)\n"


class Supervised:
    """One `carbonlab supervise` process and what it writes, removed at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.run_dir = tmp_path / "run"
        self.run_dir.mkdir(exist_ok=True)
        self.log = tmp_path / "svc.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.children: set[int] = set()

    def start(self, argv: list[str], *policy: str) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(CARBONLAB), "supervise", "--name", "svc", "--run-dir",
                                          str(self.run_dir), *policy, "--", *argv],
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def child_pidfile(self) -> Path:
        return paths(self.run_dir, "svc")[0]

    def status(self) -> SupervisorStatus | None:
        try:
            return SupervisorStatus.from_json(paths(self.run_dir, "svc")[2].read_text())
        except (OSError, ValueError):
            return None

    def child(self) -> int | None:
        try:
            pid = int(self.child_pidfile.read_text())
        except (OSError, ValueError):
            return None
        self.children.add(pid)
        return pid if alive(pid, None) else None

    def events(self) -> list[dict[str, object]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith('{"t":')]

    def wait(self, what: str, check: Callable[[], object], timeout_s: float = 30.0) -> object:
        try:
            return wait_until(check, timeout_s, what, poll_s=0.02)
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}; log: {self.log.read_text()[-2000:]}") from exc

    def exit_code(self, timeout_s: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout_s)

    def end(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[Supervised]:
    s = Supervised(tmp_path)
    try:
        yield s
    finally:
        s.end()


def _sleeper(tmp_path: Path, script: str = SLEEPER) -> list[str]:
    path = tmp_path / "sleeper.py"
    path.write_text(script)
    return [sys.executable, str(path)]


def _gone(pid: int) -> bool:
    return not alive(pid, None)


def test_sigkilled_child_comes_back_and_stop_ends_it(sup: Supervised, tmp_path: Path) -> None:
    sup.start(_sleeper(tmp_path), "--restart-s", "0.2")
    first = sup.wait("the child", sup.child)
    assert isinstance(first, int)
    status = sup.status()
    assert status is not None
    assert status.state == "running"
    assert status.child == first
    assert sup.proc is not None
    assert status.pid == sup.proc.pid
    assert status.started == start_time(status.pid)
    assert Path(f"/proc/{status.pid}/comm").read_text().strip() == PROCESS_NAME
    os.kill(first, signal.SIGKILL)
    second = sup.wait("a new child", lambda: (c := sup.child()) not in (None, first) and c)
    assert isinstance(second, int)
    exits = [e for e in sup.events() if e["event"] == "exit"]
    assert exits[0]["pid"] == first
    assert exits[0]["signal"] == "SIGKILL"
    assert [e["event"] for e in sup.events()][:3] == ["start", "exit", "restart"]
    assert sup.status() is not None
    assert sup.status().restarts == 1
    os.kill(sup.proc.pid, signal.SIGTERM)
    assert sup.exit_code() == 0
    assert _gone(second)
    assert not any(p.exists() for p in paths(sup.run_dir, "svc"))
    assert sup.events()[-1]["event"] == "stopped"



def test_a_crash_after_the_start_limit_interval_is_still_a_restart(sup: Supervised, tmp_path: Path) -> None:
    # The start limit forgets starts older than its interval; the restart count and the log must
    # not: a service that ran longer than the interval and then crashed was restarted.
    sup.start(_sleeper(tmp_path), "--restart-s", "0.2", "--start-limit-interval-s", "0.3")
    first = sup.wait("the child", sup.child)
    assert isinstance(first, int)
    ran_from = time.monotonic()
    # the behaviour under test: the child outlives the start-limit interval before it crashes
    sup.wait("the start-limit interval to pass", lambda: time.monotonic() - ran_from > 0.5)
    os.kill(first, signal.SIGKILL)
    second = sup.wait("a new child", lambda: (c := sup.child()) not in (None, first) and c)
    assert isinstance(second, int)
    assert [e["event"] for e in sup.events()][:3] == ["start", "exit", "restart"]
    status = sup.status()
    assert status is not None
    assert status.restarts == 1

def test_clean_exit_is_not_restarted(sup: Supervised) -> None:
    sup.start(["/bin/sh", "-c", "exit 0"], "--restart-s", "0.05")
    assert sup.exit_code() == 0
    events = sup.events()
    assert [e["event"] for e in events] == ["start", "exit"], events
    assert events[1]["rc"] == 0
    assert "not restarted" in str(events[1]["action"])


def test_crash_loop_hits_the_start_limit(sup: Supervised) -> None:
    sup.start(["/bin/sh", "-c", "exit 3"], "--restart-s", "0.05", "--start-limit-burst", "3",
              "--start-limit-interval-s", "600")
    assert sup.exit_code() == 1
    events = sup.events()
    assert [e["event"] for e in events] == ["start", "exit", "restart", "exit", "restart", "exit", "give_up"]
    assert all(e["rc"] == 3 for e in events if e["event"] == "exit")
    assert "3 starts within 600 s" in str(events[-1]["reason"])
    assert not any(p.exists() for p in paths(sup.run_dir, "svc"))


def test_command_that_cannot_run_is_logged_and_limited(sup: Supervised, tmp_path: Path) -> None:
    sup.start([str(tmp_path / "missing")], "--restart-s", "0", "--start-limit-burst", "2")
    assert sup.exit_code() == 1
    assert f"cannot run {tmp_path / 'missing'}" in sup.log.read_text()
    assert [e.get("rc") for e in sup.events() if e["event"] == "exit"] == [127, 127]


def test_held_child_stays_down_until_released(sup: Supervised, tmp_path: Path) -> None:
    sup.start(_sleeper(tmp_path), "--restart-s", "0")
    first = sup.wait("the child", sup.child)
    assert isinstance(first, int)
    assert sup.proc is not None
    os.kill(sup.proc.pid, signal.SIGUSR1)
    sup.wait("the hold", lambda: (s := sup.status()) is not None and s.state == "held")
    os.kill(first, signal.SIGKILL)
    sup.wait("the held exit", lambda: any(e["event"] == "exit" for e in sup.events()))
    assert not sup.child_pidfile.exists()
    assert sup.status() is not None
    assert sup.status().child is None
    assert sup.proc.poll() is None                       # still there, waiting to be told
    os.kill(sup.proc.pid, signal.SIGUSR2)
    second = sup.wait("the released child", sup.child)
    assert second != first
    assert [e["event"] for e in sup.events()] == ["start", "hold", "exit", "release", "restart"]


def test_stop_kills_a_child_that_ignores_sigterm(sup: Supervised, tmp_path: Path) -> None:
    stubborn = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "print('deaf', flush=True)\n" + SLEEPER)
    sup.start(_sleeper(tmp_path, stubborn), "--stop-grace-s", "0.5")
    child = sup.wait("the child", sup.child)
    sup.wait("the child to ignore SIGTERM", lambda: "deaf" in sup.log.read_text())
    assert isinstance(child, int)
    assert sup.proc is not None
    os.kill(sup.proc.pid, signal.SIGTERM)
    assert sup.exit_code() == 0
    assert _gone(child)
    # the stop's SIGKILL is no crash: the exit says "stopped", not "restart in 2 s"
    exits = [(e["signal"], e["action"]) for e in sup.events() if e["event"] == "exit"]
    assert exits == [("SIGKILL", "stopped")]
    assert [e["event"] for e in sup.events()][-2:] == ["exit", "stopped"]


def test_sigkilled_supervisor_takes_its_child_along(sup: Supervised, tmp_path: Path) -> None:
    sup.start(_sleeper(tmp_path))
    child = sup.wait("the child", sup.child)
    assert isinstance(child, int)
    assert sup.proc is not None
    os.kill(sup.proc.pid, signal.SIGKILL)
    sup.exit_code()
    sup.wait("the orphan to die", lambda: _gone(child))


def test_bad_arguments_are_named() -> None:
    base = [str(CARBONLAB), "supervise", "--name", "x", "--run-dir", "/tmp"]
    done = subprocess.run([*base, "--", "sleep", "1"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "absolute path, not 'sleep'" in done.stderr
    done = subprocess.run([*base, "--restart-s", "-1", "--", "/bin/true"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "must be in 0..3600, got '-1'" in done.stderr
    done = subprocess.run([*base[:-1], "/nonexistent/run", "--", "/bin/true"], capture_output=True,
                          text=True, timeout=60, check=False)      # was a traceback
    assert done.returncode == 2
    assert "--run-dir /nonexistent/run: not a directory" in done.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["--stop-grace-s", "inf"], "must be a decimal number in ASCII digits, got 'inf'"),
    (["--restart-s", "inf"], "must be a decimal number in ASCII digits, got 'inf'"),
    (["--restart-s", "nan"], "must be a decimal number in ASCII digits, got 'nan'"),
    (["--start-limit-interval-s", "nan"], "must be a decimal number in ASCII digits, got 'nan'"),
    (["--stop-grace-s", "3601"], "must be in 0..3600, got '3601'"),
    (["--start-limit-interval-s", "86401"], "must be in 0..86400, got '86401'"),
    (["--start-limit-burst", "0"], "must be in 1..10000, got 0"),
    (["--name", "a/b"], "--name: must be 1-64 letters"),
    (["--name", "../esc"], "--name: must be 1-64 letters"),
    (["--name", ""], "--name: must be 1-64 letters"),
])
def test_unsafe_names_and_unbounded_times_are_refused(tmp_path: Path, argv: list[str], message: str) -> None:
    done = subprocess.run([str(CARBONLAB), "supervise", "--name", "x", "--run-dir", str(tmp_path), *argv,
                           "--", "/bin/true"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []          # nothing written, inside the run dir or beside it


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a mode 555 directory")
def test_a_read_only_run_dir_is_a_clean_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    try:
        done = subprocess.run([str(CARBONLAB), "supervise", "--name", "x", "--run-dir", str(ro), "--",
                               "/bin/true"], capture_output=True, text=True, timeout=60, check=False)
    finally:
        ro.chmod(0o755)
    assert done.returncode == 2
    assert f"--run-dir {ro}: not writable" in done.stderr


def test_a_second_supervisor_of_the_same_name_is_refused(sup: Supervised, tmp_path: Path) -> None:
    sup.start(_sleeper(tmp_path))
    child = sup.wait("the child", sup.child)
    assert sup.proc is not None
    pidfiles = {p.name: p.read_text() for p in sup.run_dir.iterdir()}
    done = subprocess.run([str(CARBONLAB), "supervise", "--name", "svc", "--run-dir", str(sup.run_dir), "--",
                           "/bin/sleep", "1000"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"service 'svc' is already supervised by pid {sup.proc.pid}" in done.stderr
    # the first one's pidfiles are untouched (the second used to overwrite them, then remove them)
    assert {p.name: p.read_text() for p in sup.run_dir.iterdir()} == pidfiles
    assert sup.child() == child
    os.kill(sup.proc.pid, signal.SIGTERM)
    assert sup.exit_code() == 0


def test_a_stale_pidfile_does_not_stop_a_restart(sup: Supervised, tmp_path: Path) -> None:
    # what a SIGKILLed supervisor leaves: a pidfile naming a PID now gone, or held by another program
    # (this test's own process, whose comm is not cl-supervise)
    paths(sup.run_dir, "svc")[1].write_text(f"{os.getpid()}\n")
    sup.start(_sleeper(tmp_path))
    sup.wait("the child", sup.child)
    assert sup.proc is not None
    assert paths(sup.run_dir, "svc")[1].read_text() == f"{sup.proc.pid}\n"
    os.kill(sup.proc.pid, signal.SIGTERM)
    assert sup.exit_code() == 0


def test_status_refuses_what_is_not_one() -> None:
    with pytest.raises(ValueError, match="state 'dancing'"):
        SupervisorStatus.from_json(json.dumps({"name": "x", "pid": 1, "started": None, "state": "dancing",
                                               "child": None, "restarts": 0, "argv": []}))
    with pytest.raises(ValueError, match="KeyError"):
        SupervisorStatus.from_json("{}")
