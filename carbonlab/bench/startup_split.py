"""Where a node's start-up time goes, read from its log.

The node logs the process age (`since_process_start_s`: seconds since the kernel started
the process) at the end of each start-up step (`carbonlab.node.service`): "imported",
"ledger opened", "recovered" (replica rebuilt), "node started" (p2p listening, API
serving), "p2p linked" (2f peers connected) and the driver's "first vote", and beside it
the CPU seconds the process has used (`cpu_s`). `read_split` takes the first of each after
a byte offset of the log (the start of the run in question), so a log that holds several
runs of the same member reads right; `clock=CPU` reads the CPU seconds instead of the ages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

WALL = "since_process_start_s"
CPU = "cpu_s"
# log message -> StartupSplit field
MESSAGES = {"imported": "imported_s", "ledger opened": "ledger_opened_s", "recovered": "recovered_s",
            "node started": "serving_s", "p2p linked": "linked_s", "first vote": "first_vote_s"}


@dataclass(frozen=True)
class StartupSplit:
    """Process ages (s) at the end of each step; None where the log has not said it (yet)."""

    imported_s: float | None = None
    ledger_opened_s: float | None = None
    recovered_s: float | None = None
    serving_s: float | None = None
    linked_s: float | None = None
    first_vote_s: float | None = None

    @property
    def complete(self) -> bool:
        return self.first_vote_s is not None

    def steps(self) -> list[tuple[str, float | None]]:
        """Each step's own duration, in the order voting needs them: import, ledger open,
        replica rebuild, p2p linked (from the rebuild), first vote (from the link, or from the
        rebuild when the vote came first); then the API, which starts beside them (serving,
        from the rebuild), so it may end after the first vote."""
        linked = self.linked_s
        before_vote = linked if linked is not None and self.first_vote_s is not None \
            and linked <= self.first_vote_s else self.recovered_s
        return [("import", self.imported_s),
                ("ledger open", _minus(self.ledger_opened_s, self.imported_s)),
                ("replica rebuild", _minus(self.recovered_s, self.ledger_opened_s)),
                ("p2p linked", _minus(linked, self.recovered_s)),
                ("first vote", _minus(self.first_vote_s, before_vote)),
                ("beside them, API serving", _minus(self.serving_s, self.recovered_s))]

    def line(self, total: str = "after the process start") -> str:
        """One line: the steps and the total to the first vote."""
        parts = [f"{name} {_s(value)}" for name, value in self.steps()]
        return ", ".join(parts) + f"; first vote {_s(self.first_vote_s)} {total}"


def read_split(log: Path, skip: int = 0, clock: str = WALL) -> StartupSplit:
    """The first of each start-up message in `log` after byte `skip` (lines that are not
    JSON objects, or lack the `clock` figure, are passed over)."""
    found: dict[str, float] = {}
    if not log.exists():
        return StartupSplit()
    with log.open("rb") as fh:
        fh.seek(skip)
        for raw in fh:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict) or not isinstance(line.get(clock), int | float):
                continue
            key = MESSAGES.get(str(line.get("msg", "")))
            if key and key not in found:
                found[key] = float(line[clock])
    return StartupSplit(**found)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
