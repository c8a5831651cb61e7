"""What the rig asks of a host (`HostControl`), how commands reach it (`Shell`), and the pure
parsers of the facts it reads.

Facts apart from operations (pyinfra's own habit): a fact is one shell command plus a pure
parser of its output, tested on its own; an operation acts and then reads the fact again to
say what it did. Services are the lab's start-stop-daemon services: a pidfile
`<run>/<name>.pid`, a log `<log>/<name>.log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# One command prints, for the service's pidfile: the PID, the stat line, the command line
# (NUL turned into \x1f), and the working directory; each on its own line after a tag.
SERVICE_FACT = (
    'f="{pidfile}"; [ -r "$f" ] || {{ echo "nopidfile"; exit 0; }}; p=$(cat "$f"); '
    'echo "pid $p"; echo "stat $(cat /proc/$p/stat 2>/dev/null)"; '
    "echo \"cmd $(tr '\\000' '\\037' < /proc/$p/cmdline 2>/dev/null)\"; "
    'echo "cwd $(readlink /proc/$p/cwd 2>/dev/null)"'
)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What a host says about one service right now."""

    name: str
    pid: int | None              # from the pidfile, whether or not it still runs
    state: str                   # "running", "paused", "stopped" (no process), "absent" (no pidfile)
    argv: tuple[str, ...] = ()   # the running process's command line (empty when stopped)
    cwd: str = ""

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")


def parse_service(name: str, output: str) -> ServiceFacts:
    """Parse SERVICE_FACT's output (pure)."""
    tags: dict[str, str] = {}
    for line in output.splitlines():
        tag, _, rest = line.partition(" ")
        tags[tag] = rest.strip() if tag != "cmd" else rest.rstrip("\n")
    if "nopidfile" in tags:
        return ServiceFacts(name, None, "absent")
    try:
        pid = int(tags.get("pid", ""))
    except ValueError:
        return ServiceFacts(name, None, "absent")
    stat = tags.get("stat", "")
    if ")" not in stat:
        return ServiceFacts(name, pid, "stopped")
    code = stat[stat.rindex(")") + 2:].split()[0]
    if code in ("Z", "X"):
        return ServiceFacts(name, pid, "stopped")
    argv = tuple(a for a in tags.get("cmd", "").split("\x1f") if a)
    return ServiceFacts(name, pid, "paused" if code in ("T", "t") else "running", argv, tags.get("cwd", ""))


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
