"""A signed record as JSON: what `POST /v1/records` takes and what the API and CLI print.

    {"chain_id": str, "signer": member id, "seq": int, "kind": "allocation" | "transfer" |
     "surrender" | "statement", "body": {the kind's fields}, "signature": 128 hex digits}

The JSON form carries the same values as the canonical wire form (`records.py`): the
signature is over the wire form's signing bytes, so a record read from JSON verifies only if
every value is exactly what was signed. Every field is checked by the rules declared on the
record dataclasses; an error is a `SchemaError` naming the field (`record.body.quantity_t`).
"""

from __future__ import annotations

from typing import Any

from carbonlab.node.allowances.records import (
    MAX_SEQ,
    Kind,
    SignedRecord,
    body_fields,
    body_wire,
    build_body,
)
from carbonlab.node.crypto import SIGNATURE_BYTES
from carbonlab.node.model import MAX_ID_LEN
from carbonlab.node.schema import as_choice, as_dict, as_hex, as_int, as_str

KEYS = ("chain_id", "signer", "seq", "kind", "body", "signature")


def record_json(record: SignedRecord) -> dict[str, Any]:
    names = body_fields(record.kind)
    return {"chain_id": record.chain_id, "signer": record.signer, "seq": record.seq,
            "kind": record.kind.value, "body": dict(zip(names, body_wire(record.body), strict=True)),
            "signature": record.signature.hex()}


def record_from_json(value: Any, path: str = "record") -> SignedRecord:
    obj = as_dict(value, path, allowed=KEYS, required=KEYS)
    kind = Kind(as_choice(obj["kind"], f"{path}.kind", [k.value for k in Kind]))
    return SignedRecord(
        chain_id=as_str(obj["chain_id"], f"{path}.chain_id", max_len=64),
        signer=as_str(obj["signer"], f"{path}.signer", max_len=MAX_ID_LEN),
        seq=as_int(obj["seq"], f"{path}.seq", lo=0, hi=MAX_SEQ),
        body=build_body(kind, obj["body"], f"{path}.body"),
        signature=as_hex(obj["signature"], f"{path}.signature", size=SIGNATURE_BYTES),
    )
