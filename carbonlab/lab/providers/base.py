"""What every provider offers the lifecycle: make hosts, say how to reach them, remove them.

What differs between providers is asked of the provider, never switched on its name: its
class says what its hosts are like (`loopback_ports`, `needs_root`, `shares_controller_fs`,
`can_reach_package_repos`, `needs_host_addresses`), and `host_pid` and `network` say what of
a running lab the rig may reach.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from carbonlab.lab.errors import LabError, ProviderError
from carbonlab.lab.proc import lab_processes
from carbonlab.lab.resources import Resource
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import Topology

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class HostLink:
    """One host on the lab's own network: its address, network namespace and the bridge side
    of its link."""

    address: str
    netns: str
    veth: str


@dataclass(frozen=True, slots=True)
class LabNetwork:
    """A lab network on this machine that the controller (as root) can change: its bridge,
    the bridge's own address, and every host's link."""

    bridge: str
    bridge_address: str
    hosts: Mapping[str, HostLink]


class Provider(ABC):
    name: ClassVar[str] = ""
    # Every host shares 127.0.0.1, so services take ports from their host's block (ports.py)
    # instead of their declared (usual) ones.
    loopback_ports: ClassVar[bool] = False
    # Making hosts needs root (namespaces, mounts, routes).
    needs_root: ClassVar[bool] = False
    # A host's files are the controller's own files at the same paths: a plain local shell
    # reaches them, and the rig reads truth logs in place.
    shares_controller_fs: ClassVar[bool] = False
    # Hosts may have a route to package repositories (worth probing before installing from
    # one); netns hosts have no route out, local hosts no root to install with.
    can_reach_package_repos: ClassVar[bool] = False
    # Every host of the topology must name its `address` (nothing is created to give it one).
    needs_host_addresses: ClassVar[bool] = False

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

    @abstractmethod
    def service_log(self, host: str) -> Path:
        """Where the services of `host` write their logs, as a person on the controller reads it."""

    def service_run_dir(self, host: str) -> Path | None:
        """Where the supervisors of `host` keep their pidfiles and status, when the PIDs there
        are this machine's (a local host's; a netns host has its own PID namespace)."""
        return None

    def ansible_env(self) -> dict[str, str]:
        return {}

    def host_pid(self, host: str) -> int | None:
        """The PID on this machine of the process that holds `host` (its namespaces), if any."""
        return None

    def network(self) -> LabNetwork | None:
        """The lab's own network on this machine, where there is one."""
        return None

    def destroy(self) -> None:
        type(self).destroy_recorded(self.lab_dir, self.state)

    @classmethod
    def destroy_recorded(cls, lab_dir: Path, state: LabState) -> None:
        """Remove everything the state file lists, newest first; absent objects are skipped.
        An object that will not go stays in the state file (the next `down` tries it again)
        and the rest are still removed; then one error names every object left. It needs the
        state file alone, not the topology (which may be gone or edited since `up`)."""
        failed: list[str] = []
        for resource in reversed(list(state.resources)):
            try:
                cls.remove(resource, lab_dir)
            except LabError as exc:
                failed.append(f"{resource.kind} {resource.label()}: {exc}")
                continue
            state.forget(resource)
        if failed:
            raise ProviderError(f"{len(failed)} object(s) could not be removed (run `down` again): "
                                + "; ".join(failed))

    @classmethod
    def remove(cls, resource: Resource, lab_dir: Path) -> None:
        resource.remove(lab_dir)

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
        kinds = Counter((r.kind, r.words) for r in self.state.resources if r.words)
        if kinds:
            left.append(f"objects recorded in {self.state.path}: "
                        + ", ".join(f"{n} {words}" for (_, words), n in sorted(kinds.items())))
        return left


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
