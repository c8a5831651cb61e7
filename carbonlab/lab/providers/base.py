"""What every provider offers the lifecycle: make hosts, say how to reach them, remove them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carbonlab.lab.errors import LabError, ProviderError
from carbonlab.lab.proc import alive, end, lab_processes, start_time
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

    def remains(self) -> list[str]:
        """What of the lab is there now, for a person to read: its running processes (found
        afresh), then the objects the state file lists by kind (what `down` would remove)."""
        left: list[str] = []
        procs = lab_processes(self.lab_dir)
        if procs:
            programs = Counter(_program(cmdline) for _, cmdline in procs)
            pids = " ".join(str(pid) for pid, _ in procs[:20]) + (" ..." if len(procs) > 20 else "")
            left.append(f"{len(procs)} processes running ("
                        + ", ".join(f"{n} {name}" for name, n in sorted(programs.items()))
                        + f"; PIDs {pids})")
        kinds = Counter(r["kind"] for r in self.state.resources if r["kind"] not in _NOT_OBJECTS)
        if kinds:
            left.append(f"objects recorded in {self.state.path}: "
                        + ", ".join(f"{n} {_KIND_WORDS.get(kind, kind)}"
                                    for kind, n in sorted(kinds.items())))
        return left


# Entries of the state file that are not objects of their own: pidfile folders (their processes
# are counted as processes) and a running ansible-playbook of the failed command.
_NOT_OBJECTS = frozenset({"pidfiles", "ansible", "host_process"})
_KIND_WORDS = {"dir": "directory (and its contents)", "netns": "network namespace", "nft_table": "nft table"}


def _program(cmdline: str) -> str:
    """`carbonlab node`, `prometheus`: the program of a command line, past its interpreter."""
    words = cmdline.split()
    while words and (Path(words[0]).name.startswith("python") or words[0].startswith("-")):
        words.pop(0)
    if not words:
        return "python"
    name = Path(words[0]).name
    if name == "carbonlab" and len(words) > 1:
        return f"carbonlab {words[1]}"
    return name


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
