"""The OpenAPI paths of the allowance routes (`api/records.py`), merged into `openapi.OPENAPI`."""

from __future__ import annotations

from typing import Any

from carbonlab.node.allowances.answers import RecordState
from carbonlab.node.allowances.contract import RecordReason
from carbonlab.node.allowances.records import Kind, body_fields

KINDS = [k.value for k in Kind]
BODIES: dict[str, Any] = {k.value: {"required": list(body_fields(k))} for k in Kind}
RECORD: dict[str, Any] = {
    "type": "object", "required": ["chain_id", "signer", "seq", "kind", "body", "signature"],
    "description": "A signed allowance record (node/allowances/jsonform.py). quantity_t is whole "
                   "allowances (integer tonnes); the signature (hex, Ed25519 by the signer's genesis "
                   "key) covers the canonical encoding [\"carbonlab/allowance/1\", chain_id, signer, "
                   "seq, kind, body fields in order]; seq is per signer, strictly increasing.",
    "properties": {"chain_id": {"type": "string"}, "signer": {"type": "string"},
                   "seq": {"type": "integer", "minimum": 0}, "kind": {"enum": KINDS},
                   "body": {"oneOf": [{"type": "object", **b, "title": k} for k, b in BODIES.items()]},
                   "signature": {"type": "string", "pattern": "^[0-9a-f]{128}$"}}}
REASONS = [r.value for r in RecordReason]
STATUS: dict[str, Any] = {
    "type": "object", "required": ["id", "status", "height"],
    "properties": {"id": {"type": "string", "description": "SHA-256 (hex) of the canonical record"},
                   "status": {"enum": [s.value for s in RecordState]},
                   "height": {"type": ["integer", "null"]}, "reason": {"enum": REASONS},
                   "field": {"type": "string"}, "error": {"type": "string"},
                   "status_url": {"type": "string"}}}
ENTRY: dict[str, Any] = {"type": "object", "required": ["id", "status", "height", "idx", "record"],
                         "properties": {**STATUS["properties"], "idx": {"type": "integer"},
                                        "record": RECORD}}
BALANCE: dict[str, Any] = {
    "type": "object",
    "required": ["company", "year", "allocated_t", "bought_t", "sold_t", "surrendered_t", "held_t"],
    "properties": {k: {"type": "integer"} for k in ("year", "allocated_t", "bought_t", "sold_t",
                                                    "surrendered_t", "held_t")}
    | {"company": {"type": "string"}}}
ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}


def _q(name: str, kind: str = "string", desc: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": desc}


def _json(desc: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


LIST = {"type": "object", "required": ["records"],
        "properties": {"records": {"type": "array", "items": ENTRY}}}
PATHS: dict[str, Any] = {
    "/v1/records": {"post": {
        "summary": "Submit a signed allowance record (allocation, transfer, surrender, statement)",
        "parameters": [_q("wait_ms", "integer", "0..30000: wait that long for the outcome")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": RECORD}}},
        "responses": {"202": _json("ordered; follow status_url", STATUS),
                      "200": _json("already executed (committed or refused)", STATUS),
                      "400": _json("a malformed record (names the field)", ERROR),
                      "422": _json("never acceptable: wrong chain, unknown signer, bad signature, "
                                   "wrong role, unknown company, not the company's member", STATUS),
                      "413": _json("body too large", ERROR), "415": _json("not application/json", ERROR)}}},
    "/v1/records/{record_id}": {"get": {
        "summary": "What became of one record: pending, committed at a height, or refused with its reason",
        "parameters": [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("status", STATUS), "404": _json("unknown record", STATUS),
                      "400": _json("not a record id", ERROR)}}},
    "/v1/allowances/balance": {"get": {
        "summary": "A company's allowances for one compliance year (whole tonnes)",
        "parameters": [_q("company"), _q("year", "integer")],
        "responses": {"200": _json("balance", BALANCE), "400": _json("bad parameter", ERROR),
                      "404": _json("unknown company", ERROR)}}},
    "/v1/allowances/history": {"get": {
        "summary": "A company's executed records (accepted and refused), optionally of one year and kind",
        "parameters": [_q("company"), _q("year", "integer"), _q("kind", "string", "|".join(KINDS))],
        "responses": {"200": _json("records", LIST), "400": _json("bad parameter", ERROR),
                      "404": _json("unknown company", ERROR)}}},
    "/v1/allowances/records": {"get": {
        "summary": "Every executed record, optionally of one year and kind (all transfers with prices: "
                   "what the price forecast reads)",
        "parameters": [_q("year", "integer"), _q("kind", "string", "|".join(KINDS))],
        "responses": {"200": _json("records", LIST), "400": _json("bad parameter", ERROR)}}},
    "/v1/allowances/signers/{member}": {"get": {
        "summary": "A member's last executed record seq (null before its first): its next record's "
                   "seq must be above it",
        "parameters": [{"name": "member", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("the signer's last seq", {
                          "type": "object", "required": ["signer", "last_seq"],
                          "properties": {"signer": {"type": "string"},
                                         "last_seq": {"type": ["integer", "null"]}}}),
                      "400": _json("bad parameter", ERROR), "404": _json("unknown member", ERROR)}}},
}
