"""What the node answers about allowance records: typed values, serialised in one place.

`RecordStatus` is the answer about one record (`GET /v1/records/{id}`, and `POST`'s 202):
`unknown` (never seen), `pending` (handed to consensus, not executed yet), `committed` (the
contract accepted it in the block at `height`) or `refused` (executed and refused: `reason`,
`field`, `error` name why; the record stays on the ledger with its reason). `RecordEntry` is
one executed record with its outcome (history and record listings), `Balance` one company's
position in allowances for one compliance year, derived from the accepted records.

Each has `to_json` and `from_json`, so the apps' chain adapter reads the API's answers into
the same types the ledger returns, with no second copy of the shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from carbonlab.node.allowances.contract import RecordReason
from carbonlab.node.allowances.jsonform import record_from_json, record_json
from carbonlab.node.allowances.records import SignedRecord
from carbonlab.node.errors import SchemaError
from carbonlab.node.schema import as_choice, as_dict, as_int, as_list, as_str


class RecordState(StrEnum):
    UNKNOWN = "unknown"
    PENDING = "pending"
    COMMITTED = "committed"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class RecordStatus:
    id: str
    status: RecordState
    height: int | None = None
    reason: RecordReason | None = None
    field: str | None = None
    error: str = ""

    @property
    def final(self) -> bool:
        return self.status in (RecordState.COMMITTED, RecordState.REFUSED)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status.value, "height": self.height}
        if self.status is RecordState.REFUSED:
            out.update(reason=self.reason.value if self.reason else None, field=self.field,
                       error=self.error)
        return out

    @classmethod
    def from_json(cls, value: Any, path: str = "status") -> RecordStatus:
        obj = as_dict(value, path, allowed=("id", "status", "height", "reason", "field", "error",
                                            "status_url"), required=("id", "status"))
        state = RecordState(as_choice(obj["status"], f"{path}.status", [s.value for s in RecordState]))
        height = obj.get("height")
        reason = obj.get("reason")
        return cls(as_str(obj["id"], f"{path}.id"), state,
                   None if height is None else as_int(height, f"{path}.height", lo=0),
                   None if reason is None else RecordReason(
                       as_choice(reason, f"{path}.reason", [r.value for r in RecordReason])),
                   None if obj.get("field") is None else as_str(obj["field"], f"{path}.field"),
                   as_str(obj.get("error", ""), f"{path}.error", allow_empty=True, max_len=1 << 16))


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """One executed record: where it is on the chain and what the contract made of it."""

    height: int
    idx: int
    record: SignedRecord
    accepted: bool
    reason: RecordReason | None = None
    field: str | None = None
    error: str = ""

    @property
    def status(self) -> RecordStatus:
        return RecordStatus(self.record.record_id,
                            RecordState.COMMITTED if self.accepted else RecordState.REFUSED,
                            self.height, self.reason, self.field, self.error)

    def to_json(self) -> dict[str, Any]:
        return {**self.status.to_json(), "idx": self.idx, "record": record_json(self.record)}

    @classmethod
    def from_json(cls, value: Any, path: str = "entry") -> RecordEntry:
        obj = as_dict(value, path)
        status = RecordStatus.from_json({k: v for k, v in obj.items() if k not in ("idx", "record")},
                                        path)
        if status.height is None or not status.final:
            raise SchemaError(f"{path}.status", f"an executed record is committed or refused at a height, "
                              f"got {status.status.value}")
        return cls(status.height, as_int(obj.get("idx"), f"{path}.idx", lo=0),
                   record_from_json(obj.get("record"), f"{path}.record"),
                   status.status is RecordState.COMMITTED, status.reason, status.field, status.error)


@dataclass(frozen=True, slots=True)
class Balance:
    """One company's allowances for one compliance year, in whole tonnes."""

    company: str
    year: int
    allocated_t: int = 0
    bought_t: int = 0
    sold_t: int = 0
    surrendered_t: int = 0

    @property
    def held_t(self) -> int:
        return self.allocated_t + self.bought_t - self.sold_t - self.surrendered_t

    def to_json(self) -> dict[str, Any]:
        return {"company": self.company, "year": self.year, "allocated_t": self.allocated_t,
                "bought_t": self.bought_t, "sold_t": self.sold_t,
                "surrendered_t": self.surrendered_t, "held_t": self.held_t}

    @classmethod
    def from_json(cls, value: Any, path: str = "balance") -> Balance:
        keys = ("company", "year", "allocated_t", "bought_t", "sold_t", "surrendered_t", "held_t")
        obj = as_dict(value, path, allowed=keys, required=keys)
        out = cls(as_str(obj["company"], f"{path}.company"), as_int(obj["year"], f"{path}.year"),
                  *(as_int(obj[k], f"{path}.{k}", lo=0) for k in keys[2:6]))
        if out.held_t != obj["held_t"]:
            raise SchemaError(f"{path}.held_t", f"{obj['held_t']} is not allocated + bought - sold - "
                              f"surrendered = {out.held_t}")
        return out


def entries_from_json(value: Any, path: str = "records") -> list[RecordEntry]:
    return [RecordEntry.from_json(v, f"{path}[{i}]") for i, v in enumerate(as_list(value, path))]
