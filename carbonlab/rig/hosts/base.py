"""What the rig asks of a host (`HostControl`), how commands reach it (`Shell`), and the pure
parsers of the facts it reads.

Facts apart from operations (pyinfra's own habit): a fact is one shell command plus a pure
parser of its output, tested on its own; an operation acts and then reads the fact again to
say what it did. Services are the lab's supervised services (carbonlab.lab.supervisor): the
service's pidfile `<run>/<name>.pid` (only while it runs), its supervisor's pidfile and status
`<run>/<name>.supervisor.pid|json`, and a log `<log>/<name>.log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from carbonlab.lab.supervisor import SupervisorStatus

# One command prints, for the service's pidfile: the PID, the stat line, the command line
# (NUL turned into \x1f), and the working directory; then the same for its supervisor, with its
# status file; each on its own line after a tag.
SERVICE_FACT = (
    'f="{pidfile}"; if [ -r "$f" ]; then p=$(cat "$f"); '
    'echo "pid $p"; echo "stat $(cat /proc/$p/stat 2>/dev/null)"; '
    "echo \"cmd $(tr '\\000' '\\037' < /proc/$p/cmdline 2>/dev/null)\"; "
    'echo "cwd $(readlink /proc/$p/cwd 2>/dev/null)"; else echo "nopidfile"; fi; '
    's="{supervisor_pidfile}"; if [ -r "$s" ]; then q=$(cat "$s"); '
    'echo "spid $q"; echo "sstat $(cat /proc/$q/stat 2>/dev/null)"; '
    "echo \"scmd $(tr '\\000' '\\037' < /proc/$q/cmdline 2>/dev/null)\"; "
    'echo "sstatus $(cat "{status}" 2>/dev/null)"; fi'
)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What a host says about one service right now."""

    name: str
    pid: int | None              # from the pidfile, whether or not it still runs
    state: str                   # "running", "paused", "stopped" (no process), "absent" (no pidfile)
    argv: tuple[str, ...] = ()   # the running process's command line (empty when stopped)
    cwd: str = ""
    supervisor_pid: int | None = None       # its supervisor, while that runs
    supervisor_state: str = ""              # "" (none runs) or "running", "backoff", "held", "stopping"
    supervisor_argv: tuple[str, ...] = ()   # the supervisor's command line (its own, then -- and argv)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def supervised(self) -> bool:
        return self.supervisor_state != ""


def _alive(stat: str) -> str | None:
    """The state letter of a /proc stat line, or None when the process is gone or a zombie."""
    if ")" not in stat:
        return None
    code = stat[stat.rindex(")") + 2:].split()[0]
    return None if code in ("Z", "X") else code


def parse_service(name: str, output: str) -> ServiceFacts:
    """Parse SERVICE_FACT's output (pure)."""
    tags: dict[str, str] = {}
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        tags[tag] = rest.strip() if tag not in ("cmd", "scmd") else rest.rstrip("\n")
    sup_pid, sup_state, sup_argv = _supervisor(tags)

    def facts(pid: int | None, state: str, argv: tuple[str, ...] = (), cwd: str = "") -> ServiceFacts:
        return ServiceFacts(name, pid, state, argv, cwd, supervisor_pid=sup_pid, supervisor_state=sup_state,
                            supervisor_argv=sup_argv)

    try:
        pid = int(tags.get("pid", ""))
    except ValueError:
        return facts(None, "absent")
    code = _alive(tags.get("stat", ""))
    if code is None:
        return facts(pid, "stopped")
    argv = tuple(a for a in tags.get("cmd", "").split("\x1f") if a)
    return facts(pid, "paused" if code in ("T", "t") else "running", argv, tags.get("cwd", ""))


def _supervisor(tags: dict[str, str]) -> tuple[int | None, str, tuple[str, ...]]:
    try:
        pid = int(tags.get("spid", ""))
    except ValueError:
        return None, "", ()
    if _alive(tags.get("sstat", "")) is None:
        return None, "", ()
    try:
        status = SupervisorStatus.from_json(tags.get("sstatus", ""))
        state = status.state if status.pid == pid else "running"
    except ValueError:
        state = "running"                 # alive, its first status not written yet
    return pid, state, tuple(a for a in tags.get("scmd", "").split("\x1f") if a)


@dataclass(frozen=True, slots=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str


class Shell(Protocol):
    """How commands reach a host: a subprocess on this machine, or pyinfra (ssh, @local)."""

    name: str

    def run(self, command: str, *, timeout_s: float = 30.0) -> CommandResult: ...

    def close(self) -> None: ...


class HostControl(Protocol):
    """The rig's hand on one host: facts and operations on its services and files."""

    name: str

    def service(self, name: str) -> ServiceFacts: ...
    def kill(self, name: str, signal: str = "KILL") -> ServiceFacts: ...
    def hold(self, name: str) -> ServiceFacts: ...
    def release(self, name: str) -> ServiceFacts: ...
    def stop(self, name: str) -> ServiceFacts: ...
    def pause(self, name: str) -> ServiceFacts: ...
    def resume(self, name: str) -> ServiceFacts: ...
    def restart(self, name: str, *, timeout_s: float = 30.0) -> ServiceFacts: ...
    def start(self, name: str, argv: tuple[str, ...], cwd: str) -> ServiceFacts: ...
    def logs(self, name: str, lines: int = 200) -> str: ...
    def tamper(self, path: Path, offset: int, data: bytes) -> bytes: ...
    def read_bytes(self, path: Path, offset: int, count: int) -> bytes: ...
    def fetch(self, path: Path, *, timeout_s: float = 120.0,
              since_field: tuple[str, int] | None = None) -> bytes: ...
    def snapshot_sqlite(self, python: str, path: Path, *, timeout_s: float = 120.0) -> bytes: ...
    def run(self, command: str, *, timeout_s: float = 30.0) -> CommandResult: ...
    def close(self) -> None: ...
