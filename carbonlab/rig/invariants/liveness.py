"""Liveness from the heights the rig sampled during a scenario.

While at most f members are faulty the height must advance (the gateways offer load all
along); after the last heal, every honest node must reach one height within the stated
recovery time. With more than f faulty PBFT promises no progress. A scenario whose faulty
members beyond f all withhold their votes (crashed, or Byzantine and silent) states
`progress: false`, and then the height must NOT advance in those windows: fewer than 2f + 1
members vote, so any commit would be a bug. Otherwise a window beyond f is reported, not judged.

The summary line is built from the windows' verdicts, so it says how many members were faulty
where the height advanced and where it stood still, never more than was checked.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from carbonlab.rig.invariants.result import InvariantResult
from carbonlab.rig.invariants.windows import Window

Samples = Sequence[tuple[float, Mapping[str, int | None]]]


class Verdict(enum.Enum):
    PROGRESS = "advanced as owed"              # at most f faulty, height advanced
    STALL_BROKEN = "stood still"               # at most f faulty, height did not advance: failure
    STALL = "stood still as owed"              # beyond f with progress: false, no commit
    COMMIT_BROKEN = "advanced"                 # beyond f with progress: false, a commit: failure
    BEYOND_F = "reported, not judged"          # beyond f, progress not ruled out by the scenario
    UNJUDGED = "not judged"                    # too short for failure detection, or no answer

    @property
    def failed(self) -> bool:
        return self in (Verdict.STALL_BROKEN, Verdict.COMMIT_BROKEN)


@dataclass(frozen=True)
class Judged:
    window: Window
    verdict: Verdict
    first: int | None = None
    last: int | None = None

    @property
    def advanced(self) -> bool:
        return self.first is not None and self.last is not None and self.last > self.first


def _max_height(samples: Samples, lo: float, hi: float) -> int | None:
    best = None
    for t, heights in samples:
        if lo <= t <= hi:
            for h in heights.values():
                if h is not None and (best is None or h > best):
                    best = h
    return best


def judge(samples: Samples, w: Window, f: int, *, expect_progress: bool,
          grace_s: float) -> tuple[Judged, str]:
    """One window's verdict and its line of evidence."""
    span = w.describe()
    lo = w.start + (grace_s if w.faulty <= f else 3.0)
    if w.end - lo < 5.0:
        return Judged(w, Verdict.UNJUDGED), (f"{span}: shorter than the {grace_s:.0f} s allowed for failure "
                                             "detection; not judged")
    # the first sample at or after `lo` (the sampler may fall behind its 1 s on a loaded host)
    answered = [t for t, hs in samples if lo <= t <= w.end and any(h is not None for h in hs.values())]
    first_t = min(answered, default=None)
    first = _max_height(samples, first_t, first_t) if first_t is not None else None
    last = _max_height(samples, lo, w.end)
    if first is None or last is None:
        return (Judged(w, Verdict.UNJUDGED),
                f"{span}: no node answered between {lo:.1f} and {w.end:.1f} s; not judged")
    advanced = last > first
    if w.faulty <= f:
        if advanced:
            return Judged(w, Verdict.PROGRESS, first, last), f"{span}: height {first} -> {last}"
        return (Judged(w, Verdict.STALL_BROKEN, first, last),
                f"{span}: height stayed at {first} from {lo:.1f} s with at most f={f} faulty")
    if expect_progress:
        return (Judged(w, Verdict.BEYOND_F, first, last),
                f"{span}: height {first} -> {last} (beyond f: reported, not judged)")
    if advanced:
        return (Judged(w, Verdict.COMMIT_BROKEN, first, last),
                f"{span}: height advanced {first} -> {last} with more than f faulty")
    return Judged(w, Verdict.STALL, first, last), f"{span}: height {first} -> {last}, no commit beyond f"


def _counts(judged: Sequence[Judged]) -> str:
    counts = list(dict.fromkeys(j.window.faulty for j in judged))
    text = ", ".join(str(c) for c in counts[:-1])
    return f"{text} and {counts[-1]}" if text else str(counts[-1])


def summary(judged: Sequence[Judged], f: int, *, converged_after_s: float | None, recovery_s: float) -> str:
    """The one line: what the height did with how many faulty, and whether the nodes caught up."""
    def having(*verdicts: Verdict) -> list[Judged]:
        return [j for j in judged if j.verdict in verdicts]

    parts = []
    if got := having(Verdict.STALL_BROKEN):
        parts.append(f"stood still with {_counts(got)} faulty (at most f={f})")
    if got := having(Verdict.COMMIT_BROKEN):
        parts.append(f"advanced with {_counts(got)} faulty (more than f={f}, which the scenario rules out)")
    if got := having(Verdict.STALL):
        parts.append(f"stood still with {_counts(got)} faulty (more than f={f}, as owed)")
    if got := having(Verdict.PROGRESS):
        parts.append(f"advanced with {_counts(got)} faulty (at most f={f})")
    reported = having(Verdict.BEYOND_F)
    parts.extend(f"{'advanced' if done else 'stood still'} with {_counts(got)} faulty "
                 f"(more than f={f}: reported, not judged)"
                 for done in (True, False) if (got := [j for j in reported if j.advanced is done]))
    if got := having(Verdict.UNJUDGED):
        parts.append(f"not judged with {_counts(got)} faulty (window too short or no answer)")
    height = "height " + "; ".join(parts) if parts else "no fault window long enough to judge the height"
    converged = converged_after_s is not None and converged_after_s <= recovery_s
    if converged:
        caught = f"every node caught up ({converged_after_s:.1f} s after the last heal)"
    else:
        caught = f"the nodes did not reach one height within {recovery_s:.0f} s of the last heal"
    broken = not converged or any(j.verdict.failed for j in judged)
    return f"{'liveness broken: ' if broken else ''}{height}; {caught}"


def liveness(samples: Samples, windows: Sequence[Window], f: int, *,
             converged_after_s: float | None, recovery_s: float, final: Mapping[str, int | None],
             expect_progress: bool = True, grace_s: float = 30.0) -> InvariantResult:
    """`grace_s`: how long failure detection may take before progress is owed (a gateway's commit
    timeout before it fails over to another node, then the view change); a window shorter than
    that is reported, not judged. A stall beyond f is judged from 3 s after the window opens."""
    judged, evidence = [], []
    for w in windows:
        j, line = judge(samples, w, f, expect_progress=expect_progress, grace_s=grace_s)
        judged.append(j)
        evidence.append(line)
    heights = ", ".join(f"{m}={h}" for m, h in sorted(final.items()))
    converged = converged_after_s is not None and converged_after_s <= recovery_s
    if not converged:
        evidence.append(f"after the last heal the nodes did not reach one height within {recovery_s} s: "
                        f"{heights}")
    else:
        evidence.append(f"all nodes at one height {converged_after_s:.1f} s after the last heal: {heights}")
    ok = converged and not any(j.verdict.failed for j in judged)
    data = {"converged_after_s": converged_after_s,
            "windows": [{"start": j.window.start, "end": j.window.end, "faulty": j.window.faulty,
                         "members": list(j.window.members), "verdict": j.verdict.name,
                         "first": j.first, "last": j.last} for j in judged]}
    return InvariantResult("liveness", ok, summary(judged, f, converged_after_s=converged_after_s,
                                                   recovery_s=recovery_s), evidence, data)
