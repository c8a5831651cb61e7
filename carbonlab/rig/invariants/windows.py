"""Fault windows: the spans of a scenario cut where the set of faulty members changes.

A member counts once however many faults hold it (killed and partitioned away is one faulty
member), so a window's `faulty` is the number PBFT's n = 3f + 1 speaks of. Which members a
fault held is what the fault type itself said (`FaultOutcome.faulty_members`, recorded by the
journal), not something worked out here from its id.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from carbonlab.rig.faults.records import FaultRecord

MIN_WINDOW_S = 5.0   # shorter spans (faults applied one after another at one instant) are not windows


@dataclass(frozen=True)
class Span:
    """One fault's time on the members it makes faulty."""

    start: float
    end: float
    members: tuple[str, ...]


@dataclass(frozen=True)
class Window:
    """A span of the scenario with the number of members faulty in it (and which, when known)."""

    start: float
    end: float
    faulty: int
    members: tuple[str, ...] = ()

    def describe(self) -> str:
        who = f": {' '.join(self.members)}" if self.members else ""
        return f"{self.start:.1f}..{self.end:.1f} s ({self.faulty} faulty{who})"


def fault_spans(records: Sequence[FaultRecord], healed_at: float, t0: float) -> list[Span]:
    """Each recorded fault's time on the members it made faulty, in seconds since `t0`; a fault
    still applied counts until `healed_at`. Faults that made no member faulty give no span."""
    return [Span(r.applied_at - t0, (r.healed_at or healed_at) - t0, r.outcome.faulty_members)
            for r in records if r.applied_at is not None and r.outcome.faulty_members]


def windows(spans: Sequence[Span], min_s: float = MIN_WINDOW_S) -> list[Window]:
    cuts = sorted({t for s in spans for t in (s.start, s.end)})
    out = []
    for lo, hi in itertools.pairwise(cuts):
        members = sorted({m for s in spans if s.start <= lo and s.end >= hi for m in s.members})
        if members and hi - lo >= min_s:
            out.append(Window(lo, hi, len(members), tuple(members)))
    return out
