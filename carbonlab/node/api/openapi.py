"""The OpenAPI 3.1 description served at /openapi.json."""

from __future__ import annotations

from typing import Any

from carbonlab.node.api.openapi_records import PATHS as RECORD_PATHS


def _q(name: str, kind: str = "string", desc: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": desc}


def _p(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _json(desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": desc, "content": {"application/json": {"schema": schema or {"type": "object"}}}}


FILTER = [_q("company"), _q("plant"), _q("unit"), _q("stack"), _q("meter"),
          _q("gas", "string", "comma-separated co2,ch4,n2o"),
          _q("since", "string", "unix seconds or ISO 8601, interval starts >= since"),
          _q("until", "string", "unix seconds or ISO 8601, interval starts < until"),
          _q("flag", "string", "comma-separated HJ 212 flags"),
          _q("measured", "string", "all|measured|substituted")]
ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
DECISION = {"type": "object", "required": ["status"], "properties": {
    "status": {"enum": ["unknown", "pending", "accepted", "committed", "rejected", "conflict"]},
    "height": {"type": ["integer", "null"]},
    "digest": {"type": "string", "description": "SHA-256 (hex) of the committed batch's canonical "
                                                 "bytes (committed, conflict)"},
    "reason": {"type": "string"}, "field": {"type": "string"}, "error": {"type": "string"},
    "detail": {"type": "string"}}}
REFUSAL_FIELDS: dict[str, Any] = {
    "status": {"enum": ["rejected"]}, "reason": {"type": "string"}, "field": {"type": "string"},
    "error": {"type": "string"}, "detail": {"type": "string"}, "height": {"type": ["integer", "null"]}}
REFUSAL = {"type": "object", "required": list(REFUSAL_FIELDS),
           "description": "One shape for every refused batch, whether the contract's stateless checks "
                          "refused it before ordering (height null) or consensus rejected it (height of "
                          "the block that records the rejection). `field` is the path the contract "
                          "names (batch.readings[0].co2_kg), `error` and `detail` its message.",
           "properties": REFUSAL_FIELDS}
CONFLICT = {"type": "object", "required": [*REFUSAL_FIELDS, "digest"],
            "description": "A different batch is already committed under this (gateway_id, batch_seq): "
                           "reason conflicting_batch, height and digest of the committed one.",
            "properties": {**REFUSAL_FIELDS, "status": {"enum": ["conflict"]},
                           "digest": {"type": "string"}}}
HEAD = {"type": "object", "required": ["format", "chain_id", "genesis_hash", "height", "block_hash",
                                        "header", "certificate"],
        "properties": {"format": {"const": "carbonlab-signed-head/1"}, "chain_id": {"type": "string"},
                       "genesis_hash": {"type": "string"}, "height": {"type": "integer"},
                       "block_hash": {"type": "string"}, "header": {"type": "object"},
                       "certificate": {"type": "object"}}}
VERDICT = {"type": "object", "required": ["accepted", "reason", "field", "detail", "gateway_id",
                                          "batch_seq", "anomalies", "bytes"],
           "properties": {"accepted": {"type": "boolean"}, "reason": {"type": ["string", "null"]},
                          "field": {"type": ["string", "null"], "description": "the field a rejection "
                                    "names (batch.readings[0].co2_kg); null when accepted"},
                          "detail": {"type": "string"}, "gateway_id": {"type": ["string", "null"]},
                          "batch_seq": {"type": ["integer", "null"]}, "anomalies": {"type": "array"},
                          "bytes": {"type": "integer"},
                          "batch": {"type": ["object", "null"], "description": "with full=1: the "
                                    "decoded batch, null (and `request`, its bytes as hex) if it "
                                    "does not decode"},
                          "request": {"type": "string"}}}
BLOCK = {"type": "object", "required": ["height", "hash", "header", "certificate", "batches"],
         "description": "The same form as `carbonlab ledger block` writes (ledger/render.py): the "
                        "header as in a signed head, the certificate's signatures as [member, hex].",
         "properties": {"height": {"type": "integer"}, "hash": {"type": "string"},
                        "header": {"type": "object", "required": [
                            "chain_id", "height", "prev_hash", "proposal_digest", "timestamp_ms",
                            "proposer", "batch_count", "batches_root"]},
                        "certificate": {"type": "object",
                                        "required": ["view", "seq", "digest", "signatures"]},
                        "batches": {"type": "array", "items": VERDICT}}}
PAGING = [_q("limit", "integer", "1..10000, default 100"), _q("offset", "integer", "default 0")]
TIME = [_q("since", "integer", "unix seconds, interval_start >= since"),
        _q("until", "integer", "unix seconds, interval_start < until")]

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "carbonlab node API", "version": "1"},
    "paths": {
        "/v1/batches": {"post": {
            "summary": "Submit a signed gateway batch (idempotent on gateway_id, batch_seq)",
            "description": "A batch sent to a backup is forwarded to the primary. With wait_ms the answer "
                           "waits up to that long for the decision.",
            "parameters": [_q("wait_ms", "integer", "0..30000")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["chain_id", "gateway_id", "batch_seq", "readings", "signature"]}},
                "application/vnd.carbonlab.batch+msgpack": {"schema": {
                    "type": "string", "format": "binary",
                    "description": "the batch's canonical bytes (what the gateway signed), as they are"}}}},
            "responses": {"202": _json("accepted for ordering", DECISION),
                          "200": _json("committed (this very batch: idempotent)", DECISION),
                          "409": _json("a different batch is committed under this key", CONFLICT),
                          "422": _json("rejected by the verification contract", REFUSAL),
                          "400": _json("unreadable JSON, nested deeper than 32 levels, or a field "
                                       "of the wrong type", ERROR),
                          "413": _json("body over 4 MiB (declared or read)", ERROR),
                          "415": _json("Content-Type is neither application/json nor "
                                       "application/vnd.carbonlab.batch+msgpack", ERROR),
                          "503": _json("not taken: max_pending_batches batches wait for a decision "
                                       "at this node; retry after the Retry-After header's seconds",
                                       ERROR)}}},
        "/v1/batches/{gateway_id}/{batch_seq}": {"get": {
            "summary": "Status of one batch",
            "parameters": [_p("gateway_id"), _p("batch_seq", "integer")],
            "responses": {"200": _json("status", DECISION), "400": _json("bad batch_seq", ERROR)}}},
        "/v1/status": {"get": {"summary": "Height, view, primary, peers connected, lag, head hash",
                               "responses": {"200": _json("node status")}}},
        "/v1/peers": {"get": {"summary": "Every member's last reported height and view, the time "
                                        "since its last heartbeat and its link state, as this node "
                                        "sees them (carbonlab.node.peers)",
                              "responses": {"200": _json("peers report")}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json("up"),
                                                                  "503": _json("starting")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": {"description": "text exposition format"}}}},
        "/v1/blocks/{height}": {"get": {
            "summary": "One block with its commit certificate and verdicts",
            "parameters": [_p("height", "integer"), _q("full", "boolean", "include the batches")],
            "responses": {"200": _json("block", BLOCK), "404": _json("no such block", ERROR)}}},
        "/v1/blocks": {"get": {"summary": "Blocks from..to (at most 100)",
                               "parameters": [_q("from", "integer"), _q("to", "integer")],
                               "responses": {"200": _json("blocks", {
                                   "type": "object", "required": ["blocks"],
                                   "properties": {"blocks": {"type": "array", "items": BLOCK}}}),
                                             "400": _json("bad range", ERROR)}}},
        "/v1/readings": {"get": {
            "summary": "Committed readings, filtered and paged",
            "parameters": [_q("meter"), _q("plant"), _q("unit"), _q("company"), *TIME,
                           _q("max_height", "integer", "only readings of blocks up to this height"),
                           *PAGING],
            "responses": {"200": _json("readings"), "400": _json("bad filter", ERROR),
                          "404": _json("unknown meter", ERROR)}}},
        "/v1/readings/{meter_id}/{seq}/proof": {"get": {
            "summary": "Merkle proof of one committed reading, checkable with genesis alone",
            "parameters": [_p("meter_id"), _p("seq", "integer")],
            "responses": {"200": _json("proof"), "404": _json("unknown meter or reading", ERROR)}}},
        "/v1/emissions": {"get": {
            "summary": "CO2 totals grouped by company, plant, unit, stack or meter",
            "parameters": [_q("group_by", "string", "company|plant|unit|stack|meter"),
                           *(q for q in FILTER if q["name"] in ("since", "until"))],
            "responses": {"200": _json("totals"),
                          "400": _json("bad group_by, or a range /v1/emissions/query refuses",
                                       ERROR)}}},
        "/v1/emissions/query": {"get": {
            "summary": "Emissions by period (interval|hour|day|month|year) and level "
                       "(all|company|plant|unit|stack|meter), with substituted and missing shares "
                       "beside every total; proofs=1 adds each row's reading proofs",
            "parameters": [*FILTER, _q("period"), _q("level"), _q("proofs", "boolean")],
            "responses": {"200": _json("rows"), "400": _json("bad filter (names the field)", ERROR)}}},
        "/v1/emissions/structure": {"get": {
            "summary": "Emissions company -> plant -> unit -> stack and by gas, tonnes and CO2e "
                       "under the GWP set named (AR5|AR6), shares, intensity, measured share, "
                       "change against the previous period of the same length",
            "parameters": [*FILTER, _q("gwp")],
            "responses": {"200": _json("tree"), "400": _json("bad filter (names the field)", ERROR)}}},
        "/v1/rejections": {"get": {
            "summary": "Rejected batches with the contract's reasons",
            "parameters": [_q("gateway"), *PAGING],
            "responses": {"200": _json("rejections")}}},
        "/v1/head": {"get": {
            "summary": "The signed head: the head block's header and its commit certificate "
                       "(2f + 1 members' signatures), for `carbonlab ledger verify --head`",
            "responses": {"200": _json("signed head", HEAD),
                          "404": _json("no block committed yet", ERROR)}}},
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json("OpenAPI")}}},
        **RECORD_PATHS,
    },
}
