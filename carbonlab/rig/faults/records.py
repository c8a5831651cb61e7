"""What the fault journal records of each injection: wall times, the fault's lines for people,
and its typed `FaultOutcome`, which is what the runner and the invariants read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrafficOutcome:
    """A node's answer to a batch the rig sent it, and the batch's final status."""

    http: int
    status: str                      # the final status: committed, rejected, unreachable, ...
    reasons: tuple[str, ...] = ()    # rejection reasons in the answer and the final status
    expected: str = ""               # what the fault type expects, for the report


@dataclass(frozen=True)
class FaultOutcome:
    """What one injection did, in the terms the invariants use; set by the fault type."""

    faulty_members: tuple[str, ...] = ()   # members counted faulty while it is applied
    lying_members: tuple[str, ...] = ()    # members whose ledger is not honest evidence
    tampered_height: int | None = None     # the height altered on the target's ledger
    traffic: TrafficOutcome | None = None  # hostile traffic: how the node answered

    def to_json(self) -> dict[str, Any]:
        return {"faulty_members": list(self.faulty_members), "lying_members": list(self.lying_members),
                "tampered_height": self.tampered_height,
                "traffic": None if self.traffic is None else {
                    "http": self.traffic.http, "status": self.traffic.status,
                    "reasons": list(self.traffic.reasons), "expected": self.traffic.expected}}


@dataclass
class FaultRecord:
    fault: str
    target: str
    params: dict[str, Any]
    applied_at: float | None = None
    healed_at: float | None = None
    applied: str = ""
    healed: str = ""
    error: str = ""
    outcome: FaultOutcome = field(default_factory=FaultOutcome)
    heal_after_checks: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault, "target": self.target, "params": self.params,
                "applied_at": self.applied_at, "healed_at": self.healed_at,
                "applied": self.applied, "healed": self.healed, "error": self.error,
                "outcome": self.outcome.to_json()}
