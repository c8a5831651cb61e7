"""What the node answers about one batch: a typed `Decision`, serialised in one place.

The same shape serves every answer about a batch (submit and status), and every
refusal of a batch carries the same keys whether it was decided before ordering (the
contract's stateless checks), by consensus (a verdict on the ledger) or by the
idempotency check (a different batch already committed under the same key):
`status`, `reason`, `field`, `error`, `detail`, `height` (null when the batch is not on
the ledger) and, for a conflict, `digest` of the committed batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CONFLICT_REASON = "conflicting_batch"


class DecisionStatus(StrEnum):
    UNKNOWN = "unknown"
    PENDING = "pending"
    ACCEPTED = "accepted"
    COMMITTED = "committed"
    REJECTED = "rejected"
    CONFLICT = "conflict"


def batch_digest(request: bytes) -> str:
    """SHA-256 (hex) of a batch's canonical bytes: what a gateway compares with its own copy."""
    return hashlib.sha256(request).hexdigest()


@dataclass(frozen=True, slots=True)
class Decision:
    status: DecisionStatus
    height: int | None = None
    reason: str | None = None
    detail: str = ""
    digest: str | None = None
    field: str | None = None   # the offending field of a rejection or conflict

    @classmethod
    def rejected(cls, reason: str, field: str, detail: str, height: int | None = None) -> Decision:
        return cls(DecisionStatus.REJECTED, height, reason, detail, field=field)

    @classmethod
    def conflict(cls, gateway_id: str, batch_seq: int, height: int, digest: str) -> Decision:
        return cls(DecisionStatus.CONFLICT, height, CONFLICT_REASON,
                   f"batch: gateway {gateway_id!r} batch_seq {batch_seq} is already committed at height "
                   f"{height} with different content (committed digest {digest})", digest, "batch")

    @property
    def final(self) -> bool:
        return self.status in (DecisionStatus.COMMITTED, DecisionStatus.REJECTED, DecisionStatus.CONFLICT)

    @property
    def http_status(self) -> int:
        return {DecisionStatus.ACCEPTED: 202, DecisionStatus.REJECTED: 422,
                DecisionStatus.CONFLICT: 409}.get(self.status, 200)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        if self.status is DecisionStatus.COMMITTED:
            out.update(height=self.height, digest=self.digest)
        elif self.status in (DecisionStatus.REJECTED, DecisionStatus.CONFLICT):
            out.update(reason=self.reason, field=self.field, error=self.detail,
                       detail=self.detail, height=self.height)
            if self.status is DecisionStatus.CONFLICT:
                out["digest"] = self.digest
        return out
