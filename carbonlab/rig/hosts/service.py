"""`ServiceHost`: the `HostControl` of one lab host, over any `Shell`.

Every operation is a command on the host followed by the service fact read again, so the
caller always gets what is true after the act. Signals go to the PID of the service's
pidfile, and only while that PID still runs the command line the fact saw (a recycled
PID is never hit). Services run under carbonlab's supervisor, which brings a crashed one
back: `kill` is a crash (the supervisor restarts the service), `hold` first tells the
supervisor to leave the service down until `release`, `stop` ends supervisor and service.
`start` runs a new supervisor through start-stop-daemon the way the lab's playbook does,
with the supervisor command line the host last showed (or `supervisor`, the host's
`carbonlab supervise`) and the given command line and working directory.
"""

from __future__ import annotations

import base64
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from carbonlab.lab.supervisor import PROCESS_NAME, paths
from carbonlab.rig.errors import HostError
from carbonlab.rig.hosts.base import SERVICE_FACT, CommandResult, ServiceFacts, Shell, parse_service

SIGNALS = ("KILL", "TERM", "STOP", "CONT", "INT", "HUP")
# The controller's own `carbonlab supervise` (a local host runs the controller's venv).
LOCAL_SUPERVISOR = (str(Path(sys.executable).parent / "carbonlab"), "supervise")


# start-stop-daemon lives in /usr/sbin on Debian, which a user's PATH (the local provider's)
# does not hold; `env` looks the program up in the PATH it is given.
SBIN_PATH = 'env PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" '


class ServiceHost:
    def __init__(self, name: str, shell: Shell, run_dir: Path, log_dir: Path, *, user: str = "",
                 in_place: Callable[[], InPlace | None] | None = None,
                 supervisor: tuple[str, ...] = LOCAL_SUPERVISOR) -> None:
        self.name = name
        # How the rig reaches the host's files itself (a local host; a netns host when the rig
        # runs as root), or None: then files are copied over the shell. Reading in place is what
        # keeps collecting the ledgers cheap when they have grown over a long catalogue.
        self.in_place = in_place
        self.user = user                      # services run as this user (start-stop-daemon --chuid)
        self.shell = shell
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.supervisor = supervisor           # runs `carbonlab supervise` on the host
        self._seen: dict[str, tuple[tuple[str, ...], str]] = {}   # service -> (argv, cwd)
        self._supervisors: dict[str, tuple[str, ...]] = {}       # service -> its supervisor's prefix

    def pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def run(self, command: str, *, timeout_s: float = 30.0) -> CommandResult:
        return self.shell.run(command, timeout_s=timeout_s)

    def _check(self, command: str, what: str, timeout_s: float = 30.0) -> str:
        done = self.run(command, timeout_s=timeout_s)
        if done.rc != 0:
            why = (done.stderr or done.stdout).strip()[-300:]
            raise HostError(f"{self.name}: {what}: exit {done.rc}: {why}")
        return done.stdout

    # facts -----------------------------------------------------------------------------------
    def service(self, name: str) -> ServiceFacts:
        _child, sup_pidfile, status = paths(self.run_dir, name)
        out = self._check(SERVICE_FACT.format(pidfile=self.pidfile(name), supervisor_pidfile=sup_pidfile,
                                              status=status), f"facts of {name}")
        facts = parse_service(name, out)
        if facts.argv:
            self._seen[name] = (facts.argv, facts.cwd)
        if "--" in facts.supervisor_argv:
            self._supervisors[name] = facts.supervisor_argv[:facts.supervisor_argv.index("--")]
        return facts

    # operations ------------------------------------------------------------------------------
    def signal(self, name: str, sig: str) -> ServiceFacts:
        if sig not in SIGNALS:
            raise HostError(f"{self.name}: signal {sig!r} is not one of {', '.join(SIGNALS)}")
        facts = self.service(name)
        if not facts.running or facts.pid is None:
            raise HostError(f"{self.name}: service {name} is not running ({facts.state}); "
                            f"cannot send SIG{sig}{self._last_words(name)}")
        try:
            self._check(f"kill -{sig} {facts.pid}", f"SIG{sig} to {name} (pid {facts.pid})")
        except HostError as exc:  # it ended between the fact and the signal: say how, from its log
            raise HostError(f"{exc}{self._last_words(name)}") from None
        return facts

    def _last_words(self, name: str, lines: int = 4) -> str:
        """The end of the service's log (its supervisor's lines say how and when it exited), for
        an error about a service that is not running."""
        tail = self.logs(name, lines).strip()
        return f"; the end of {self.logfile(name)}: {tail[-600:]}" if tail else ""

    def kill(self, name: str, signal: str = "KILL") -> ServiceFacts:
        before = self.signal(name, signal)
        return self._wait(name, lambda f: not f.running or f.pid != before.pid, f"{name} to exit")

    def pause(self, name: str) -> ServiceFacts:
        self.signal(name, "STOP")
        return self._wait(name, lambda f: f.state == "paused", f"{name} to stop")

    def resume(self, name: str) -> ServiceFacts:
        self.signal(name, "CONT")
        return self._wait(name, lambda f: f.state == "running", f"{name} to continue")

    def hold(self, name: str) -> ServiceFacts:
        """Tell the supervisor not to restart the service when it exits (until `release`)."""
        return self._tell(name, "USR1", lambda f: f.supervisor_state == "held", "held")

    def release(self, name: str) -> ServiceFacts:
        """Undo `hold`: the supervisor restarts on failure again, and starts the service now if it is down."""
        return self._tell(name, "USR2", lambda f: f.supervisor_state in ("running", "backoff") and f.running,
                          "running again")

    def stop(self, name: str, *, timeout_s: float = 30.0) -> ServiceFacts:
        """End the service for good: its supervisor stops it (SIGTERM, SIGKILL after its grace) and exits."""
        facts = self.service(name)
        if facts.supervisor_pid is not None:
            self._check(f"kill -CONT {facts.supervisor_pid}; kill -TERM {facts.supervisor_pid}",
                        f"SIGTERM to the supervisor of {name} (pid {facts.supervisor_pid})")
        elif facts.running and facts.pid is not None:            # a service nobody supervises
            self._check(f"kill -CONT {facts.pid}; kill -TERM {facts.pid}",
                        f"SIGTERM to {name} (pid {facts.pid})")
        # a supervisor removes the service's pidfile as it goes; a service on its own leaves it
        was_supervised = facts.supervised

        def stopped(f: ServiceFacts) -> bool:
            return not f.running and not f.supervised and (f.state == "absent" or not was_supervised)

        return self._wait(name, stopped, f"{name} to stop", timeout_s)

    def restart(self, name: str, *, timeout_s: float = 30.0) -> ServiceFacts:
        self.service(name)
        if name not in self._seen:
            raise HostError(f"{self.name}: never saw {name} running, so its command line is unknown")
        argv, cwd = self._seen[name]
        self.stop(name, timeout_s=timeout_s)
        return self.start(name, argv, cwd)

    def start(self, name: str, argv: tuple[str, ...], cwd: str) -> ServiceFacts:
        facts = self.service(name)
        if facts.running:
            raise HostError(f"{self.name}: {name} is already running")
        if facts.supervised:            # a supervisor holding or backing off: replaced by a new one
            self.stop(name)
        _child, sup_pidfile, _status = paths(self.run_dir, name)
        prefix = (self._supervisors.get(name)
                  or (*self.supervisor, "--name", name, "--run-dir", str(self.run_dir)))
        # a stale pidfile (its process gone, or a zombie nobody reaped) goes: the fact said stopped
        remove = f"rm -f {shlex.quote(str(self.pidfile(name)))} && " if facts.state == "stopped" else ""
        command = ["start-stop-daemon", "--start", "--background", "--pidfile", str(sup_pidfile),
                   "--name", PROCESS_NAME, "--chdir", cwd or "/",
                   "--output", str(self.logfile(name)), *(["--chuid", self.user] if self.user else []),
                   "--startas", prefix[0], "--", *prefix[1:], "--", *argv]
        self._check(f"{remove}mkdir -p {shlex.quote(str(self.run_dir))} {shlex.quote(str(self.log_dir))} && "
                    + SBIN_PATH + shlex.join(command), f"start {name}")
        self._seen[name] = (argv, cwd)
        # the supervisor writes the pidfile after its fork: wait for the service's own command line
        return self._wait(name, lambda f: f.state == "running" and f.argv[:1] == argv[:1], f"{name} to start")

    def _tell(self, name: str, sig: str, done: Callable[[ServiceFacts], bool], what: str) -> ServiceFacts:
        facts = self.service(name)
        if facts.supervisor_pid is None:
            raise HostError(f"{self.name}: {name} has no supervisor running; cannot send it SIG{sig}")
        self._check(f"kill -{sig} {facts.supervisor_pid}",
                    f"SIG{sig} to the supervisor of {name} (pid {facts.supervisor_pid})")
        return self._wait(name, done, f"{name} to be {what}")

    def logs(self, name: str, lines: int = 200) -> str:
        done = self.run(f"tail -n {int(lines)} {shlex.quote(str(self.logfile(name)))}")
        return done.stdout if done.rc == 0 else ""

    def read_bytes(self, path: Path, offset: int, count: int) -> bytes:
        out = self._check(f"dd if={shlex.quote(str(path))} bs=1 skip={int(offset)} count={int(count)} "
                          "status=none | base64 -w0", f"read {path}")
        return base64.b64decode(out.strip())

    def tamper(self, path: Path, offset: int, data: bytes) -> bytes:
        """Overwrite `len(data)` bytes of `path` at `offset` in place; return what was there."""
        old = self.read_bytes(path, offset, len(data))
        if len(old) != len(data):
            raise HostError(f"{self.name}: {path} has no {len(data)} bytes at offset {offset}")
        payload = base64.b64encode(data).decode()
        self._check(f"echo {payload} | base64 -d | dd of={shlex.quote(str(path))} bs=1 seek={int(offset)} "
                    "conv=notrunc status=none", f"write {path}")
        return old

    def fetch(self, path: Path, *, timeout_s: float = 120.0,
              since_field: tuple[str, int] | None = None) -> bytes:
        """The file (logs, truth logs) copied to the controller; with `since_field` = (key, n), only
        the JSON lines whose first field `key` is >= n (`{"t":1795670323,...}`)."""
        local = self._local(path)
        if local is not None:
            return _read_since(local, since_field)
        quoted = source = shlex.quote(str(path))
        if since_field is not None:
            key, n = since_field
            source = (f"awk -F'[:,]' -v n={int(n)} 'index($1, \"{key}\") && $2 + 0 >= n' {source}")
        else:
            source = f"cat {source}"
        out = self._check(f"[ -r {quoted} ] || {{ echo 'no such file' >&2; exit 1; }}; {source} | base64 -w0",
                          f"fetch {path}", timeout_s)
        return base64.b64decode(out.strip())

    def snapshot_sqlite(self, python: str, path: Path, *, timeout_s: float = 120.0) -> bytes:
        """A consistent copy of a live SQLite database (WAL included), through SQLite's backup API
        run by `python` on the host, then fetched (read in place where the rig can)."""
        place = self.in_place() if self.in_place is not None else None
        if place is not None and place.sees(path):
            return place.snapshot(python, path, timeout_s)
        script = ("import sqlite3, sys, tempfile, base64\n"
                  "src = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, timeout=30)\n"
                  "with tempfile.NamedTemporaryFile(suffix='.sqlite') as tmp:\n"
                  "    dst = sqlite3.connect(tmp.name); src.backup(dst); dst.close()\n"
                  "    sys.stdout.write(base64.b64encode(open(tmp.name, 'rb').read()).decode())\n")
        out = self._check(shlex.join([python, "-c", script, str(path)]), f"snapshot {path}", timeout_s)
        return base64.b64decode(out.strip())

    def close(self) -> None:
        self.shell.close()

    def _local(self, path: Path) -> Path | None:
        place = self.in_place() if self.in_place is not None else None
        return place.root / str(path).lstrip("/") if place is not None and place.sees(path) else None

    def _wait(self, name: str, done: object, what: str, timeout_s: float = 15.0) -> ServiceFacts:
        assert callable(done)
        deadline = time.monotonic() + timeout_s
        while True:
            facts = self.service(name)
            if done(facts):
                return facts
            if time.monotonic() > deadline:
                raise HostError(f"{self.name}: waited {timeout_s} s for {what}; it is {facts.state}")
            time.sleep(0.05)


def _read_since(path: Path, since_field: tuple[str, int] | None) -> bytes:
    data = path.read_bytes()
    if since_field is None:
        return data
    key, n = since_field
    prefix = f'{{"{key}":'.encode()
    keep = []
    for line in data.splitlines(keepends=True):
        if line.startswith(prefix) and line.endswith(b"\n"):   # a line being written is left out
            head = line[len(prefix):].split(b",", 1)[0].split(b"}", 1)[0]
            try:
                if float(head) >= n:
                    keep.append(line)
            except ValueError:
                continue
    return b"".join(keep)


@dataclass(frozen=True)
class InPlace:
    """A host whose files the rig can reach without its shell: `root` is where the host's `/` is
    seen from the rig (`/` itself for a local host; `/proc/PID/root` for a netns host), and
    `enter` the command prefix that runs a program in the host's mount namespace and root
    (empty for a local host; `nsenter -t PID -m -r --` for a netns host). SQLite is run inside
    (through `enter`): it resolves symbolic links, and /proc/PID/root is one that only the
    kernel can follow into another mount namespace."""

    root: Path
    enter: tuple[str, ...] = ()

    def sees(self, path: Path) -> bool:
        return (self.root / str(path).lstrip("/")).is_file()

    def snapshot(self, python: str, path: Path, timeout_s: float) -> bytes:
        inside = f"/tmp/carbonlab-rig-snapshot-{uuid.uuid4().hex}.sqlite"
        script = ("import sqlite3, sys\n"
                  "src = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, timeout=30)\n"
                  "dst = sqlite3.connect(sys.argv[2]); src.backup(dst); dst.close(); src.close()\n")
        here = self.root / inside.lstrip("/")
        try:
            done = subprocess.run([*self.enter, python, "-c", script, str(path), inside], capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
            if done.returncode != 0:
                raise HostError(f"snapshot {path}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
            return here.read_bytes()
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostError(f"snapshot {path}: {exc}") from None
        finally:
            here.unlink(missing_ok=True)
