"""The lab state file: what a lab is (phase) and everything it has created on this machine.

Theory of operation. Every object a provider makes (namespace, link, route, nft
table, process, directory) is appended to `state.json` BEFORE the command that makes
it runs, and the file is replaced atomically (write, fsync, rename) each time. So at
any instant, even after SIGKILL of `lab up`, the file lists a superset of what
exists, and `lab down` removes each listed object if it is there, in reverse order,
ignoring the ones that are not: it is idempotent. A `flock` on `lock` keeps two
commands from working on one lab at once; the kernel drops it when its holder dies.
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
from typing import Any

from carbonlab.lab.errors import StateError, TransitionError


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
    resources: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> LabState:
        if not path.exists():
            return cls(path=path)
        try:
            raw = json.loads(path.read_text())
            return cls(path=path, lab_id=raw["lab_id"], provider=raw["provider"],
                       topology=raw["topology"], phase=Phase(raw["phase"]),
                       resources=list(raw["resources"]), facts=dict(raw["facts"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{path}: unreadable lab state ({exc}); remove the lab's objects "
                             "by hand or restore the file") from None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"lab_id": self.lab_id, "provider": self.provider,
                           "topology": self.topology, "phase": self.phase.value,
                           "resources": self.resources, "facts": self.facts}, indent=1)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(data + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def record(self, kind: str, **attrs: Any) -> dict[str, Any]:
        """Note an object about to be created; returns the record (update it with `update`)."""
        entry = {"kind": kind, **attrs}
        if entry not in self.resources:
            self.resources.append(entry)
            self.save()
        return entry

    def update(self, entry: dict[str, Any], **attrs: Any) -> None:
        entry.update(attrs)
        self.save()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["kind"] == kind]

    def forget(self, entry: dict[str, Any]) -> None:
        self.resources.remove(entry)
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


@contextlib.contextmanager
def locked(lab_dir: Path) -> Iterator[None]:
    lab_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lab_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(f"{lab_dir}: another carbonlab command is working on this lab") from None
        yield
    finally:
        os.close(fd)
