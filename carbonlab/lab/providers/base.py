"""What every provider offers the lifecycle: make hosts, say how to reach them, remove them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carbonlab.lab.errors import LabError, ProviderError
from carbonlab.lab.proc import alive, end, start_time
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology

Progress = Callable[[str], None]
# A supervisor forwards SIGTERM and waits its service's stop grace (10 s by default) before
# SIGKILL; ending it sooner would SIGKILL the service through its parent-death signal.
SUPERVISOR_GRACE_S = 20.0


class Provider(ABC):
    name: str = ""

    def __init__(self, topo: Topology, lab_dir: Path, state: LabState, progress: Progress) -> None:
        self.topo = topo
        self.lab_dir = lab_dir
        self.state = state
        self.progress = progress

    @abstractmethod
    def addresses(self) -> dict[str, str]:
        """Host id -> the address its services bind to and peers reach it at."""

    @abstractmethod
    def create_hosts(self) -> None:
        """Make every host of the topology (idempotent: hosts already there are kept)."""

    @abstractmethod
    def host_vars(self, host: str) -> dict[str, Any]:
        """Ansible variables for `host`: connection, and where carbonlab lives on it."""

    def ansible_env(self) -> dict[str, str]:
        return {}

    def destroy(self) -> None:
        """Remove everything the state file lists, newest first; absent objects are skipped.
        An object that will not go stays in the state file (the next `down` tries it again)
        and the rest are still removed; then one error names every object left."""
        failed: list[str] = []
        for entry in reversed(list(self.state.resources)):
            try:
                self.remove(entry)
            except LabError as exc:
                failed.append(f"{entry.get('kind')} {_label(entry)}: {exc}")
                continue
            self.state.forget(entry)
        if failed:
            raise ProviderError(f"{len(failed)} object(s) could not be removed (run `down` again): "
                                + "; ".join(failed))

    def remove(self, entry: dict[str, Any]) -> None:
        kind = entry["kind"]
        if kind == "dir":
            path = Path(entry["path"])
            if path.is_relative_to(self.lab_dir):
                shutil.rmtree(path, ignore_errors=True)
        elif kind == "pidfiles":
            stop_pidfiles(Path(entry["path"]), self.lab_dir)
        elif kind == "ansible":
            stop_playbook(entry["pid"], entry.get("started"), entry["inventory"])

    def describe(self) -> str:
        return self.name


def _label(entry: dict[str, Any]) -> str:
    for key in ("name", "path", "host", "pid"):
        if key in entry:
            return str(entry[key])
    return ""


def stop_playbook(pid: int, started: int | None, inventory: str) -> None:
    """End an ansible-playbook this lab started, and its forks: they run in sessions of their
    own, so when the playbook's parent died they are found by the lab's own inventory path on
    their command line (no other program is given that path)."""
    end(pid, started, grace_s=2.0)
    marker = f" -i {inventory} "
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "ansible-playbook" in cmdline:
            child = int(proc.name)
            end(child, start_time(child), grace_s=2.0)


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
        for pidfile in group:
            pidfile.unlink(missing_ok=True)


def _lab_pid(pidfile: Path, lab_dir: Path) -> int | None:
    """The PID in `pidfile` if it runs a command naming `lab_dir`."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return None
    return pid if str(lab_dir) in cmdline else None
