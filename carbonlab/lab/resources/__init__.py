"""The objects a lab records in its state file, one dataclass per kind, each removing itself."""

from __future__ import annotations

from typing import Any

from carbonlab.lab.resources.base import Resource
from carbonlab.lab.resources.files import LabDir
from carbonlab.lab.resources.network import Link, Netns, NftTable, Route
from carbonlab.lab.resources.processes import HostProcess, PidfileDir, PlaybookRun

KINDS: dict[str, type[Resource]] = {
    cls.kind: cls for cls in (LabDir, PidfileDir, PlaybookRun, HostProcess, Netns, Link, Route, NftTable)
}

__all__ = ["KINDS", "HostProcess", "LabDir", "Link", "Netns", "NftTable", "PidfileDir", "PlaybookRun",
           "Resource", "Route", "from_record"]


def from_record(raw: Any) -> Resource:
    """The object of one state-file record; ValueError or TypeError names what is wrong."""
    if not isinstance(raw, dict):
        raise TypeError(f"a record must be an object, not {raw!r}")
    kind = raw.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    return cls.from_record(raw)
