"""What an invariant check returns: pass or fail, one line, and the evidence (never a bare boolean)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class InvariantResult:
    name: str
    passed: bool
    summary: str
    evidence: list[str] = field(default_factory=list)   # heights, hashes, missing intervals, ...
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable figures for the report

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "summary": self.summary,
                "evidence": self.evidence, "data": self.data}

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.summary}"


MAX_EVIDENCE = 50


def capped(items: list[str], limit: int = MAX_EVIDENCE) -> list[str]:
    return items if len(items) <= limit else [*items[:limit], f"... and {len(items) - limit} more"]


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that never creates the file (a missing file is an error, not a new db)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
