"""Every allowance route is described in the OpenAPI document the API serves, and the routes'
answers are the shapes it names."""

from __future__ import annotations

from typing import Any, cast

from carbonlab.node.allowances.answers import Balance, RecordState, RecordStatus
from carbonlab.node.allowances.contract import RecordReason
from carbonlab.node.api.openapi import OPENAPI
from carbonlab.node.api.openapi_records import BALANCE, PATHS, STATUS
from carbonlab.node.api.records import record_routes


def test_every_record_route_is_in_the_openapi_document() -> None:
    routes = {(r.path, m.lower()) for r in record_routes(cast(Any, None)) for m in (r.methods or ())
              if m != "HEAD"}
    described = {(p, m) for p, ops in PATHS.items() for m in ops}
    assert routes == described
    assert all(OPENAPI["paths"][p] == PATHS[p] for p in PATHS)


def test_the_documented_shapes_match_the_answers() -> None:
    refused = RecordStatus("ab" * 32, RecordState.REFUSED, 3, RecordReason.DUPLICATE, "record.seq", "x")
    assert set(STATUS["required"]) <= set(refused.to_json())
    assert set(refused.to_json()) <= set(STATUS["properties"])
    assert set(STATUS["properties"]["reason"]["enum"]) == {r.value for r in RecordReason}
    assert set(Balance("acme", 2026, 1, 2, 3, 0).to_json()) == set(BALANCE["required"])
