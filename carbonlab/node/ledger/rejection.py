"""A rejected request as the ledger recorded it: one typed row of `Ledger.rejections`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Rejection:
    height: int                 # the block that recorded it
    index: int                  # its place among the block's requests
    gateway_id: str | None      # None where the request was too malformed to name one
    batch_seq: int | None
    reason: str                 # the contract's reason code
    detail: str
    timestamp_ms: int           # the block's time
    field: str                  # the offending field (`batch` where none is more precise)

    def to_json(self) -> dict[str, Any]:
        return {"height": self.height, "index": self.index, "gateway_id": self.gateway_id,
                "batch_seq": self.batch_seq, "reason": self.reason, "detail": self.detail,
                "timestamp_ms": self.timestamp_ms, "field": self.field}
