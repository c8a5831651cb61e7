"""Processes a lab started on the controller, each ended by PID and start time only.

A record whose start time is unknown (None: the process had exited, or an edited state file)
cannot tell its process from another that got the PID since: such a PID is signalled only when
its command line is that of the recorded process (the lab's playbook of this inventory, a host
of this lab directory), else left alone and said so (`refusal`)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
from pathlib import Path

from carbonlab.lab.proc import alive, cmdlines, end, names_dir, start_time
from carbonlab.lab.resources.base import Resource, outside

# A supervisor forwards SIGTERM and waits its service's stop grace (10 s by default) before
# SIGKILL; ending it sooner would SIGKILL the service through its parent-death signal.
SUPERVISOR_GRACE_S = 20.0


@dataclasses.dataclass(frozen=True)
class PidfileDir(Resource, kind="pidfiles"):
    """A host's `run/` folder: the services whose pidfiles are in it are the lab's. Only a
    folder inside the lab directory is touched (as `LabDir`): a state file copied or edited
    into another directory must not reach the pidfiles of the lab it came from."""

    path: str

    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    def remove(self, lab_dir: Path) -> None:
        if not self.refusal(lab_dir):
            stop_pidfiles(Path(self.path).resolve(), lab_dir)


@dataclasses.dataclass(frozen=True)
class PlaybookRun(Resource, kind="ansible"):
    """The ansible-playbook of a running `lab up`: a killed `up` leaves it (and its forks)."""

    pid: int
    started: int | None
    inventory: str

    def paths(self) -> tuple[str, ...]:
        return (self.inventory,)

    def refusal(self, lab_dir: Path) -> str:
        return super().refusal(lab_dir) or _not_the_playbook(self.pid, self.started, self.inventory)

    def remove(self, lab_dir: Path) -> None:
        # an inventory outside the lab would find another lab's playbook forks by their `-i`
        if not outside(self.inventory, lab_dir):
            stop_playbook(self.pid, self.started, self.inventory)


@dataclasses.dataclass(frozen=True)
class HostProcess(Resource, kind="host_process"):
    """A netns host's first process; recorded (without PID) before it is started."""

    host: str
    pid: int | None = None
    started: int | None = None

    def refusal(self, lab_dir: Path) -> str:
        if self.pid is None or self.started is not None or not alive(self.pid, None):
            return ""
        cmdline = _cmdline(self.pid)
        if "unshare" in cmdline and names_dir(cmdline, lab_dir):
            return ""
        return (f"PID {self.pid} (host {self.host}, recorded without its start time) now runs "
                f"{cmdline[:120]!r}, not a host of {lab_dir}: left alone")

    def remove(self, lab_dir: Path) -> None:
        # `unshare --fork` ignores SIGTERM; SIGKILL ends it, its child (PID 1 of the host's
        # PID namespace, by --kill-child) and with that every process of the host.
        if self.pid is not None and not self.refusal(lab_dir):
            end(self.pid, self.started, grace_s=5.0, term=False)

    def alive(self) -> bool:
        return self.pid is not None and alive(self.pid, self.started)


def stop_playbook(pid: int, started: int | None, inventory: str) -> str:
    """End an ansible-playbook this lab started, and its forks: they run in sessions of their
    own, so when the playbook's parent died they are found by the lab's own inventory path on
    their command line (no other program is given that path). Without a start time, `pid` is
    ended only if it runs that playbook; returns what was left alone, else ""."""
    left = _not_the_playbook(pid, started, inventory)
    if not left:
        end(pid, started, grace_s=2.0)
    for child, cmdline in cmdlines():
        if _runs_playbook(cmdline, inventory):
            end(child, start_time(child), grace_s=2.0)
    return left


def _runs_playbook(cmdline: str, inventory: str) -> bool:
    return f" -i {inventory} " in f" {cmdline} " and "ansible-playbook" in cmdline


def _not_the_playbook(pid: int, started: int | None, inventory: str) -> str:
    """Why `pid`, recorded without a start time, is not to be signalled, else ""."""
    if started is not None or not alive(pid, None):
        return ""
    cmdline = _cmdline(pid)
    if _runs_playbook(cmdline, inventory):
        return ""
    return (f"PID {pid} (a playbook recorded without its start time) now runs {cmdline[:120]!r}, "
            f"not the ansible-playbook of {inventory}: left alone")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def stop_pidfiles(run_dir: Path, lab_dir: Path) -> None:
    """End every service whose pidfile is in `run_dir`, if that PID still runs a command of this
    lab (its command line names the lab directory): a stale pidfile never hits another process.
    Supervisors go first (NAME.supervisor.pid; SIGTERM stops their service, SIGKILL after the
    supervisor's own grace takes the service along), so none restarts a service ended here;
    then any service pidfile left (a service whose supervisor was gone)."""
    supervisors = sorted(run_dir.glob("*.supervisor.pid"))
    services = sorted(set(run_dir.glob("*.pid")) - set(supervisors))
    for group, grace_s in ((supervisors, SUPERVISOR_GRACE_S), (services, 5.0)):
        ours = [(pid, start_time(pid)) for pid in (_lab_pid(f, lab_dir) for f in group) if pid is not None]
        for pid, started in ours:           # all told at once, then each waited for
            if alive(pid, started):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        for pid, started in ours:
            end(pid, started, grace_s=grace_s)
        for pidfile in group:      # a pidfile of a live process of another lab is not ours to drop
            if _lab_pid(pidfile, lab_dir) is not None or not _names_live_process(pidfile):
                pidfile.unlink(missing_ok=True)


def _names_live_process(pidfile: Path) -> bool:
    try:
        return alive(int(pidfile.read_text().strip()), None)
    except (OSError, ValueError):
        return False


def _lab_pid(pidfile: Path, lab_dir: Path) -> int | None:
    """The PID in `pidfile` if it runs a command naming `lab_dir`."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return None
    return pid if names_dir(cmdline, lab_dir) else None
