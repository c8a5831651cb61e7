"""What `report verify` finds: each problem typed by kind and named by where it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAX_PROBLEMS = 200


class Kind(StrEnum):
    MANIFEST = "manifest"
    SIGNATURE = "signature"
    PROOF = "proof"
    READING = "reading"
    FIGURE = "figure"
    DOCUMENT = "document"     # the report's text and layout: names, notes, titles, columns, rows
    RECORDS = "records"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    where: str        # the file, block, reading (meter/seq) or figure name
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.where}: {self.detail}"


@dataclass
class Verified:
    blocks: int = 0
    batches: int = 0
    readings: int = 0
    figures: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)     # what was not checkable, not a failure

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: Kind, where: str, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, where, detail))

    def summary(self) -> str:
        done = (f"{self.blocks} blocks, {self.batches} batches, {self.readings} readings, "
                f"{self.figures} figures")
        return f"ok: {done} verified" if self.ok else f"FAILED: {len(self.problems)} problem(s) ({done})"
