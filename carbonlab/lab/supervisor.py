"""The service supervisor of emulated hosts (`local`, `netns`, and ssh hosts without systemd).

Theory of operation. One supervisor process per service, with the service as its child, so
that a crashed service comes back the way systemd's `Restart=on-failure` brings it back on a
real host (the unit in playbooks/roles/common/templates has the same settings):

- a child that exits non-zero or is killed by a signal other than SIGHUP, SIGINT, SIGTERM and
  SIGPIPE is started again after `restart_s`; one that exits 0 (or by one of those four
  signals) is done, and so is the supervisor;
- a start is refused when `start_limit_burst` starts already happened within the last
  `start_limit_interval_s` (systemd's StartLimitBurst/StartLimitIntervalSec): the supervisor
  logs it and exits 1, leaving the service down until someone starts it again;
- SIGTERM, SIGINT or SIGHUP stop it: the child's process group gets SIGTERM (and SIGCONT,
  should it be paused), SIGKILL after `stop_grace_s`, then the supervisor exits 0 (the child's
  exit is logged with the action "stopped": nothing restarts it);
- one supervisor per name and run dir: a second refuses to start while `NAME.supervisor.pid`
  names a live supervisor (a stale pidfile, left by one that was SIGKILLed, is replaced);
- SIGUSR1 holds it: the child keeps running but is not restarted when it exits (the rig's
  "killed members stay down until healed"); SIGUSR2 releases it, starting the child at once
  if it is down.

Every signal is blocked and taken with `sigtimedwait`, one at a time in the main loop, so no
handler ever runs in the middle of a state change; a hold sent before a kill is always seen
before that kill's SIGCHLD. The child gets PR_SET_PDEATHSIG=SIGKILL: if the supervisor itself
is SIGKILLed its child dies with it (no orphans). Each exit, start and decision is one JSON
line on stdout (the service's log); `NAME.pid` holds the running child's PID (and only while
it runs), `NAME.supervisor.pid` the supervisor's, and `NAME.supervisor.json` its status (PID,
start time, state, child, restarts), replaced atomically at each change.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from carbonlab.lab.errors import LabError
from carbonlab.lab.proc import alive, start_time

PROCESS_NAME = "cl-supervise"       # its comm (at most 15 bytes): start-stop-daemon --name matches it
STATES = ("running", "backoff", "held", "stopping")
CLEAN_SIGNALS = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE})
_TAKEN = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
_PR_SET_NAME, _PR_SET_PDEATHSIG = 15, 1


@dataclass(frozen=True, slots=True)
class Policy:
    """When to restart: the same numbers as the systemd unit of real hosts."""

    restart_s: float = 2.0               # RestartSec
    start_limit_burst: int = 5           # StartLimitBurst
    start_limit_interval_s: float = 60.0  # StartLimitIntervalSec
    stop_grace_s: float = 10.0           # TimeoutStopSec


@dataclass(frozen=True, slots=True)
class SupervisorStatus:
    """What `NAME.supervisor.json` says (the rig's fact of a supervised service)."""

    name: str
    pid: int
    started: int | None                 # start time of `pid` (clock ticks since boot)
    state: str                          # one of STATES
    child: int | None = None
    restarts: int = 0
    argv: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "argv": list(self.argv)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SupervisorStatus:
        """Raises ValueError naming what is wrong when `text` is not a status."""
        try:
            raw = json.loads(text)
            status = cls(name=str(raw["name"]), pid=int(raw["pid"]),
                         started=None if raw["started"] is None else int(raw["started"]),
                         state=str(raw["state"]), child=None if raw["child"] is None else int(raw["child"]),
                         restarts=int(raw["restarts"]), argv=tuple(str(a) for a in raw["argv"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a supervisor status ({type(exc).__name__}: {exc})") from None
        if status.state not in STATES:
            raise ValueError(f"supervisor status: state {status.state!r} is not one of {', '.join(STATES)}")
        return status


LAST_WORD_BYTES = 64 * 1024
LAST_LINE_CHARS = 240


def last_word(log: Path) -> str | None:
    """What the supervisor last said of its service in `log` (the service's log, where its
    lines are mixed with the service's own), when that explains why the service is down: it
    gave up (start limit), the service exited and is not restarted, or it was stopped; after a
    give-up or an exit, with the last error the service's last run wrote (`_last_error`). None
    when the log is absent or unreadable, or its last word is a start or a restart pending."""
    try:
        with log.open("rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - LAST_WORD_BYTES))
            tail = fh.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for at in range(len(tail) - 1, -1, -1):
        event = _event(tail[at])
        if event is not None:
            word = _word(event)
            error = _last_error(tail[:at]) if word and event["event"] in ("give_up", "exit") else None
            return f"{word}; its last error: {error[:LAST_LINE_CHARS]}" if error else word
    return None


def _last_error(lines: list[str]) -> str | None:
    """The last error the service's last run wrote (`lines` end at the supervisor's word):
    a line of its structured log at level error or critical (its message), or a plain line (a
    `carbonlab: error: ...` or a traceback's exception line); None when that run wrote none.
    A traceback's frames (indented) and an exception group's box drawing (`| `, `+---`,
    `+-+---- 1 ----`) are skipped: the error of a group is its last sub-exception's line."""
    for line in reversed(lines):
        event = _event(line)
        if event is not None:
            if event["event"] in ("start", "restart", "release"):
                return None
            continue
        text = line.strip()
        if not text:
            continue
        if not text.startswith("{"):
            # inside an exception group's box every line starts `| `: drop that, then a line
            # still indented is a frame, and one of only `+-|`, digits and dots is drawing
            body = text[1:].removeprefix(" ") if text.startswith("|") else line.rstrip()
            if not body or body[0].isspace() or not body.strip("+-| .0123456789"):
                continue
            return body
        try:
            record = json.loads(text)
        except ValueError:
            return text
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            return str(record.get("msg", text))
    return None


def _event(line: str) -> dict[str, object] | None:
    """The supervisor's JSON line `line` is, else None (a line of the service's own)."""
    if '"supervisor"' not in line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "supervisor" in event and "event" in event else None


def _word(event: dict[str, object]) -> str | None:
    kind = event["event"]
    if kind == "give_up":
        return f"its supervisor gave up: {event.get('reason')}"
    if kind == "exit":
        how = f"by {event['signal']}" if event.get("signal") else f"with rc {event.get('rc')}"
        action = str(event.get("action", ""))
        return None if action.startswith("restart in") else f"exited {how}, {action}"
    if kind in ("stop", "stopped"):
        return "stopped by its supervisor"
    if kind == "hold":
        return "held by its supervisor (a killed service is not restarted)"
    return None


def supervisor_gone(run_dir: Path, name: str) -> str | None:
    """Words for a supervisor that ended without a word: its status file (which it removes
    whenever it ends on its own) still names it, but that process is gone (SIGKILLed, or the
    machine's OOM killer). Nothing restarts its service then. Only for a `run_dir` whose PIDs
    are this machine's; None while it runs, or when there is no status to read."""
    _, _, status_file = paths(run_dir, name)
    try:
        status = SupervisorStatus.from_json(status_file.read_text())
    except (OSError, ValueError):
        return None
    if alive(status.pid, status.started):
        return None
    return (f"its supervisor (pid {status.pid}) is gone without a word (killed?), "
            "so nothing restarts the service")


class AlreadySupervised(LabError, RuntimeError):
    """Raised by `Supervisor.run` when a live supervisor already runs the service of that name in
    that run dir; the caller's fault (a second start). Nothing was written."""


class RunDirError(LabError, OSError):
    """Raised by `Supervisor.run` when its pidfile cannot be written in the run dir (read-only,
    not ours); the caller's fault. Nothing was started."""


def running_supervisor(pidfile: Path) -> int | None:
    """The PID `pidfile` names when that process is alive and is a supervisor (its comm is
    `PROCESS_NAME`) other than this process; None for no pidfile, a stale one, or a recycled PID
    now held by another program."""
    try:
        pid = int(pidfile.read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() and comm == PROCESS_NAME and alive(pid, None) else None


def paths(run_dir: Path, name: str) -> tuple[Path, Path, Path]:
    """(child pidfile, supervisor pidfile, status file) of service `name`."""
    return run_dir / f"{name}.pid", run_dir / f"{name}.supervisor.pid", run_dir / f"{name}.supervisor.json"


class Supervisor:
    def __init__(self, name: str, argv: list[str], run_dir: Path, policy: Policy,
                 out: TextIO = sys.stdout) -> None:
        if not argv:
            raise ValueError("supervise: no command to run (give it after --)")
        self.name, self.argv, self.policy, self.out = name, argv, policy, out
        self.child_pidfile, self.pidfile, self.status_file = paths(run_dir, name)
        self.child: int | None = None
        self.state = "running"
        self.restarts = 0
        self.ran_child = False          # the child was started once: every later start is a restart
        self.starts: deque[float] = deque()   # start times within the start-limit interval only
        self.restart_at: float | None = None
        self.started = start_time(os.getpid())

    # the loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        """Supervise until stopped; `AlreadySupervised` (before anything is written) when a live
        supervisor of the same name owns the run dir's pidfiles, `RunDirError` when they cannot
        be written there."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _TAKEN)
        _set_comm(PROCESS_NAME)
        self._claim()
        try:
            self._spawn()
            while True:
                timeout = None if self.restart_at is None else max(0.0, self.restart_at - time.monotonic())
                info = (signal.sigwaitinfo(_TAKEN) if timeout is None
                        else signal.sigtimedwait(_TAKEN, timeout))
                if info is None:                        # the backoff is over
                    self.restart_at = None
                    if not self._spawn():
                        return 1
                    continue
                code = self._on_signal(info.si_signo)
                if code is not None:
                    return code
        finally:
            for path in (self.child_pidfile, self.status_file, self.pidfile):
                path.unlink(missing_ok=True)

    def _claim(self) -> None:
        """Write our pidfile, unless it names a live supervisor: a second supervisor of the same
        name would overwrite the first's pidfiles and, when stopped, remove them while the first
        and its service run on unseen. A pidfile left by a supervisor that died (SIGKILL, a
        reboot) names no live `cl-supervise` and is replaced. Created with O_EXCL when absent, so
        of two started at the same moment one finds the other's."""
        mine = f"{os.getpid()}\n".encode()
        try:
            fd = os.open(self.pidfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            other = running_supervisor(self.pidfile)
            if other is not None:
                raise AlreadySupervised(f"service {self.name!r} is already supervised by pid {other} "
                                        f"({self.pidfile}); stop it first") from None
            try:
                _write(self.pidfile, mine.decode())     # stale: its supervisor is gone
            except OSError as exc:
                raise RunDirError(f"{self.pidfile}: cannot write ({exc.strerror})") from None
            return
        except OSError as exc:
            raise RunDirError(f"{self.pidfile}: cannot write ({exc.strerror})") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(mine)

    def _on_signal(self, signo: int) -> int | None:
        if signo == signal.SIGCHLD:
            return self._reap()
        if signo == signal.SIGUSR1:
            self.state = "held"
            self.restart_at = None
            self._log("hold", child=self.child)
        elif signo == signal.SIGUSR2 and self.state == "held":
            self.state = "running"
            self._log("release", child=self.child)
            if self.child is None and not self._spawn():
                return 1
        elif signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._stop(signal.Signals(signo).name)
            return 0
        self._save()
        return None

    def _reap(self) -> int | None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            if pid != self.child:
                continue
            self.child = None
            self.child_pidfile.unlink(missing_ok=True)
            rc, sig = _decode(status)
            detail = {"pid": pid, "rc": rc, "signal": signal.Signals(sig).name if sig else None}
            if self.state == "stopping":                # SIGKILLed by _stop, or it obeyed SIGTERM
                self._log("exit", **detail, action="stopped")
            elif self.state == "held":
                self._log("exit", **detail, action="held: not restarted")
            elif rc == 0 or sig in CLEAN_SIGNALS:
                self._log("exit", **detail, action="clean exit: not restarted")
                return 0
            else:
                self.restart_at = time.monotonic() + self.policy.restart_s
                self.state = "backoff"
                self._log("exit", **detail, action=f"restart in {self.policy.restart_s:g} s")
            self._save()

    # acts ----------------------------------------------------------------------------------------
    def _spawn(self) -> bool:
        """Start the child, unless the start limit says no (then log it and say False)."""
        now = time.monotonic()
        while self.starts and now - self.starts[0] >= self.policy.start_limit_interval_s:
            self.starts.popleft()
        if len(self.starts) >= self.policy.start_limit_burst:
            self._log("give_up", reason=f"start limit: {len(self.starts)} starts within "
                                        f"{self.policy.start_limit_interval_s:g} s")
            return False
        restarting = self.ran_child
        self.ran_child = True
        self.starts.append(now)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:                                    # the child: never returns
            _exec_child(self.argv, parent)
        self.child = pid
        self.state = "running"
        if restarting:
            self.restarts += 1
        # logged and saved in the status before the pidfile names it: whoever sees the new PID
        # finds the line and a status naming that child too
        self._log("restart" if restarting else "start", pid=pid, restarts=self.restarts)
        self._save()
        _write(self.child_pidfile, f"{pid}\n")
        return True

    def _stop(self, why: str) -> None:
        self.state = "stopping"
        self.restart_at = None
        self._save()
        self._log("stop", reason=f"SIG{why.removeprefix('SIG')}", child=self.child)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.child is None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child, sig)
                if sig == signal.SIGTERM:
                    os.killpg(self.child, signal.SIGCONT)  # a paused child must run to see SIGTERM
            deadline = time.monotonic() + self.policy.stop_grace_s
            while self.child is not None and time.monotonic() < deadline:
                if signal.sigtimedwait([signal.SIGCHLD], max(0.0, deadline - time.monotonic())):
                    self._reap()
        self._log("stopped")

    def _save(self) -> None:
        status = SupervisorStatus(self.name, os.getpid(), self.started, self.state, self.child,
                                  self.restarts, tuple(self.argv))
        _write(self.status_file, status.to_json() + "\n")

    def _log(self, event: str, **fields: object) -> None:
        line = {"t": round(time.time(), 3), "supervisor": self.name, "event": event, **fields}
        self.out.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.out.flush()


def _exec_child(argv: list[str], parent: int) -> None:
    try:
        os.setpgid(0, 0)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:                      # the supervisor died before the prctl
            os._exit(1)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):    # Python ignores them; exec would keep that
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execv(argv[0], argv)
    except BaseException as exc:  # noqa: BLE001 - the child must never return into the loop
        with contextlib.suppress(OSError):
            os.write(2, f"supervise: cannot run {argv[0]}: {exc}\n".encode())
    os._exit(127)


def _decode(status: int) -> tuple[int | None, int | None]:
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.WEXITSTATUS(status), None


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _set_comm(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
