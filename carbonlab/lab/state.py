"""The lab state file: what a lab is (phase) and everything it has created on this machine.

Theory of operation. Every object a provider makes (namespace, link, route, nft
table, process, directory; one dataclass per kind in lab/resources/, each removing
itself) is appended to `state.json` BEFORE the command that makes it runs, and the
file is replaced atomically (write, fsync, rename) each time. So at any instant, even
after SIGKILL of `lab up`, the file lists a superset of what exists, and `lab down`
removes each listed object if it is there, in reverse order, ignoring the ones that
are not: it is idempotent. A `flock` on `lock` keeps two commands from working on one
lab at once; the kernel drops it when its holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from carbonlab.lab.errors import StateError, TransitionError
from carbonlab.lab.resources import Resource, from_record

R = TypeVar("R", bound=Resource)


class Phase(StrEnum):
    ABSENT = "absent"
    HOSTS_UP = "hosts_up"
    PROVISIONED = "provisioned"
    HEALTHY = "healthy"


# (from, to) pairs a lab may take; `down` (any -> absent) is separate.
TRANSITIONS = frozenset({
    (Phase.ABSENT, Phase.HOSTS_UP),
    (Phase.HOSTS_UP, Phase.HOSTS_UP), (Phase.PROVISIONED, Phase.HOSTS_UP),
    (Phase.HEALTHY, Phase.HOSTS_UP),                      # converge a running lab
    (Phase.HOSTS_UP, Phase.PROVISIONED),
    (Phase.PROVISIONED, Phase.HEALTHY), (Phase.HEALTHY, Phase.HEALTHY),
})


@dataclass
class LabState:
    """The parsed state file; mutate through the methods, which save at once."""

    path: Path
    lab_id: str = ""
    provider: str = ""
    topology: str = ""
    phase: Phase = Phase.ABSENT
    resources: list[Resource] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> LabState:
        if not path.exists():
            return cls(path=path)
        try:
            raw = json.loads(path.read_text())
            resources = []
            for i, entry in enumerate(raw["resources"]):
                try:
                    resources.append(from_record(entry))
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"resources[{i}]: {exc}") from None
            return cls(path=path, lab_id=raw["lab_id"], provider=raw["provider"],
                       topology=raw["topology"], phase=Phase(raw["phase"]),
                       resources=resources, facts=dict(raw["facts"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{path}: unreadable lab state ({exc}); remove the lab's objects "
                             "by hand or restore the file") from None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"lab_id": self.lab_id, "provider": self.provider,
                           "topology": self.topology, "phase": self.phase.value,
                           "resources": [r.record() for r in self.resources], "facts": self.facts}, indent=1)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(data + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def record(self, resource: R) -> R:
        """Note an object about to be created (once: an equal record is not added again)."""
        if resource not in self.resources:
            self.resources.append(resource)
            self.save()
        return resource

    def replace(self, old: R, new: R) -> R:
        """Put `new` where `old` is (say, a process record once its PID is known)."""
        self.resources[self.resources.index(old)] = new
        self.save()
        return new

    def of_kind(self, kind: type[R]) -> list[R]:
        return [r for r in self.resources if isinstance(r, kind)]

    def forget(self, resource: Resource) -> None:
        self.resources.remove(resource)
        self.save()

    def advance(self, to: Phase) -> None:
        if (self.phase, to) not in TRANSITIONS:
            raise TransitionError(f"lab {self.lab_id or '?'}: cannot go from {self.phase} to {to} "
                                  f"(allowed from {self.phase}: "
                                  f"{', '.join(sorted(t for f, t in TRANSITIONS if f == self.phase))}"
                                  " or absent)")
        self.phase = to
        self.save()

    def reset(self) -> None:
        """After a complete teardown: nothing exists any more."""
        self.phase = Phase.ABSENT
        self.resources = []
        self.facts = {}
        self.save()


def recorded_topology(lab_dir: Path | None) -> Path | None:
    """The topology file the lab in `lab_dir` was brought up from (None: no lab directory given,
    or no lab in it), so a command given only `--lab-dir` acts on the lab that directory holds;
    StateError if that file is gone (another topology would be another lab)."""
    if lab_dir is None:
        return None
    state = LabState.load(lab_dir.resolve() / "state.json")
    if not state.topology:
        return None
    path = Path(state.topology)
    if not path.is_absolute():       # written so before 2026-12: relative to a cwd not recorded
        raise StateError(f"{lab_dir}: lab {state.lab_id!r} was brought up from a topology recorded as a "
                         f"relative path ({path}); give the topology (a file with lab_id: "
                         f"{state.lab_id}) before --lab-dir (`lab down` needs none: it removes what "
                         "the state file lists)")
    if not path.is_file():
        raise StateError(f"{lab_dir}: lab {state.lab_id!r} was brought up from {path}, which is gone; "
                         f"give its topology (a file with lab_id: {state.lab_id}) before --lab-dir "
                         "(`lab down` needs none: it removes what the state file lists)")
    return path


def check_lab_dir(lab_dir: Path) -> None:
    """StateError when `lab_dir` exists and is not a directory (a file holds no lab)."""
    if lab_dir.exists() and not lab_dir.is_dir():
        raise StateError(f"--lab-dir {lab_dir}: is a file, not a lab directory")


@contextlib.contextmanager
def locked(lab_dir: Path) -> Iterator[None]:
    """Hold the lab's lock, making the lab directory first; StateError (not a traceback) when
    it cannot be made or locked: a file there, a read-only parent, /proc."""
    check_lab_dir(lab_dir)
    try:
        lab_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(lab_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"--lab-dir {lab_dir}: cannot create ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"{lab_dir}: another carbonlab command is working on this lab") from None
        yield
    finally:
        os.close(fd)
