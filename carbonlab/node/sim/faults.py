"""Fault plans: from one seed, who is Byzantine and how, who crashes when, which partitions.

Modes: `none`, `network` (drops, duplicates, delays, partitions), `crash` (honest members
crash and restart, losing what they did not persist), `byzantine` (up to f members
misbehave), `mixed` (all of it), and `paper` (issue 2 item 6: at n = 7 exactly 2 members
crashed for the whole fault phase and 2 Byzantine ones at once).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from carbonlab.node.errors import NodeError
from carbonlab.node.sim.byzantine import BEHAVIOURS
from carbonlab.node.sim.modes import MODES as MODES  # re-exported
from carbonlab.node.sim.network import LinkFaults


class SimConfigError(NodeError, ValueError):
    """Raised for simulator arguments that cannot describe a run (the caller's fault)."""


@dataclass
class FaultPlan:
    mode: str
    byzantine: dict[str, str] = field(default_factory=dict)           # member -> behaviour
    crashes: list[tuple[int, str, int]] = field(default_factory=list)  # (at step, member, restart step)
    partitions: list[tuple[int, int, list[frozenset[str]]]] = field(default_factory=list)
    link: LinkFaults = field(default_factory=LinkFaults)

    def describe(self) -> str:
        parts = [f"mode={self.mode}"]
        if self.byzantine:
            parts.append("byzantine=" + ",".join(f"{m}:{b}" for m, b in sorted(self.byzantine.items())))
        if self.crashes:
            parts.append("crashes=" + ",".join(f"{m}@{a}-{b}" for a, m, b in self.crashes))
        if self.partitions:
            parts.append("partitions=" + ";".join(
                f"{a}-{b}:" + "|".join(",".join(sorted(g)) for g in gs) for a, b, gs in self.partitions))
        lf = self.link
        parts.append(f"drop={lf.drop:.2f} dup={lf.duplicate:.2f} delay={lf.min_delay_ms}-{lf.max_delay_ms}ms")
        return " ".join(parts)

    @classmethod
    def draw(cls, rng: random.Random, members: tuple[str, ...], f: int, mode: str,
             steps: int) -> FaultPlan:
        if mode not in MODES:
            raise SimConfigError(f"--faults: {mode!r} is not one of {', '.join(MODES)}")
        plan = cls(mode)
        if mode == "paper":
            if len(members) != 7:
                raise SimConfigError(f"--faults paper: needs --nodes 7, got {len(members)}")
            chosen = rng.sample(members, 4)
            # Malicious members that withhold or split their votes (the worst for progress),
            # while forging and replaying too would only add dropped messages.
            plan.byzantine = {chosen[0]: rng.choice(("silent", "equivocate")),
                              chosen[1]: "conflicting_votes"}
            plan.crashes = [(0, chosen[2], steps), (0, chosen[3], steps)]
            plan.link = LinkFaults(drop=0.02, duplicate=0.02, min_delay_ms=1, max_delay_ms=15)
            return plan
        if mode in ("byzantine", "mixed"):
            count = rng.randint(1, f) if mode == "byzantine" else rng.randint(0, f)
            for member in rng.sample(members, count):
                plan.byzantine[member] = rng.choice(BEHAVIOURS)
        honest = [m for m in members if m not in plan.byzantine]
        if mode in ("crash", "mixed"):
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(max(1, steps * 3 // 4))
                plan.crashes.append((at, rng.choice(honest), at + rng.randint(5, max(6, steps // 2))))
        if mode in ("network", "mixed"):
            plan.link = LinkFaults(drop=rng.choice((0.0, 0.02, 0.05, 0.1)),
                                   duplicate=rng.choice((0.0, 0.02, 0.05)),
                                   min_delay_ms=1, max_delay_ms=rng.choice((5, 20, 60)))
            for _ in range(rng.randint(0, 2)):
                at = rng.randrange(max(1, steps))
                shuffled = list(members)
                rng.shuffle(shuffled)
                cut = rng.randint(1, len(members) - 1)
                plan.partitions.append((at, at + rng.randint(5, max(6, steps // 3)),
                                        [frozenset(shuffled[:cut]), frozenset(shuffled[cut:])]))
        return plan
