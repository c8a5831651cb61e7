"""Liveness from the heights the rig sampled during a scenario.

While at most f members are faulty the height must advance (the gateways offer load all
along); after the last heal, every honest node must reach one height within the stated
recovery time. With more than f faulty PBFT promises no progress; a scenario with only
crashed members beyond f states `progress: false`, and then the height must NOT advance
in those windows (no quorum, so any commit would be a bug).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from carbonlab.rig.invariants.result import InvariantResult


@dataclass(frozen=True)
class Window:
    """A span of the scenario with the number of members faulty in it."""

    start: float
    end: float
    faulty: int


Samples = Sequence[tuple[float, Mapping[str, int | None]]]


def _max_height(samples: Samples, lo: float, hi: float) -> int | None:
    best = None
    for t, heights in samples:
        if lo <= t <= hi:
            for h in heights.values():
                if h is not None and (best is None or h > best):
                    best = h
    return best


def liveness(samples: Samples, windows: Sequence[Window], f: int, *,
             converged_after_s: float | None, recovery_s: float, final: Mapping[str, int | None],
             expect_progress: bool = True, grace_s: float = 30.0) -> InvariantResult:
    """`grace_s`: how long failure detection may take before progress is owed (a gateway's commit
    timeout before it fails over to another node, then the view change); a window shorter than
    that is reported, not judged. A stall beyond f is judged from 3 s after the window opens."""
    evidence = []
    ok = True
    for w in windows:
        span = f"{w.start:.1f}..{w.end:.1f} s ({w.faulty} faulty)"
        lo = w.start + (grace_s if w.faulty <= f else 3.0)
        if w.end - lo < 5.0:
            evidence.append(f"{span}: shorter than the {grace_s:.0f} s allowed for failure detection; "
                            "not judged")
            continue
        # the first sample at or after `lo` (the sampler may fall behind its 1 s on a loaded host)
        answered = [t for t, hs in samples if lo <= t <= w.end and any(h is not None for h in hs.values())]
        first_t = min(answered, default=None)
        first = _max_height(samples, first_t, first_t) if first_t is not None else None
        last = _max_height(samples, lo, w.end)
        if first is None or last is None:
            evidence.append(f"{span}: no node answered between {lo:.1f} and {w.end:.1f} s; not judged")
            continue
        advanced = last > first
        if w.faulty <= f and not advanced:
            ok = False
            evidence.append(f"{span}: height stayed at {first} from {lo:.1f} s with at most f={f} faulty")
        elif w.faulty > f and advanced and not expect_progress:
            ok = False
            evidence.append(f"{span}: height advanced {first} -> {last} with more than f faulty")
        elif w.faulty > f and expect_progress:
            evidence.append(f"{span}: height {first} -> {last} (beyond f: reported, not judged)")
        else:
            evidence.append(f"{span}: height {first} -> {last}")
    heights = ", ".join(f"{m}={h}" for m, h in sorted(final.items()))
    if converged_after_s is None or converged_after_s > recovery_s:
        ok = False
        evidence.append(f"after the last heal the nodes did not reach one height within {recovery_s} s: "
                        f"{heights}")
    else:
        evidence.append(f"all nodes at one height {converged_after_s:.1f} s after the last heal: {heights}")
    summary = ("height advanced while at most f were faulty, and every node caught up" if ok
               else "liveness broken (see evidence)")
    return InvariantResult("liveness", ok, summary, evidence, {"converged_after_s": converged_after_s})
