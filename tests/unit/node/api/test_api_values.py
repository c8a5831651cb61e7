"""Hostile values through a real node's API (the shared cluster's n2): numbers beyond a float,
times beyond int()'s digits, and a query parameter no route reads. Each is a 400 naming the
field, never a 500; nothing here is ordered (every refusal comes before the contract)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.node.allowances.jsonform import record_json
from carbonlab.node.allowances.records import Basis, Statement, Transfer
from carbonlab.node.api.app import build_app
from tests.unit.node.allowances.kit import HASH, YEAR, RecordKit
from tests.unit.node.factories import make_kit

pytestmark = pytest.mark.timeout(120)
Node = tuple[LocalCluster, str]
HUGE = "1" + "0" * 400       # a JSON integer of 401 digits: float() of it raised OverflowError


def post(url: str, route: str, body: str) -> httpx.Response:
    return httpx.post(f"{url}{route}", content=body.encode(), headers={"content-type": "application/json"},
                      timeout=30)


def with_number(doc: dict[str, Any], path: tuple[str | int, ...]) -> str:
    """`doc` as JSON text with the number at `path` replaced by `HUGE` (json.dumps would write
    any Python int too, but this is the literal the tester sent)."""
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@HUGE@"
    return json.dumps(doc).replace('"@HUGE@"', HUGE)


def test_a_huge_integer_in_a_batch_float_field_is_a_400_naming_it(node: Node) -> None:
    _, url = node
    doc = make_kit().next_batch().to_json()
    r = post(url, "/v1/batches", with_number(doc, ("readings", 0, "co2_pct")))
    assert r.status_code == 400, r.text
    assert r.json() == {"error": "batch.readings[0].co2_pct: must be a finite number",
                        "field": "batch.readings[0].co2_pct"}


@pytest.mark.parametrize(("body", "name"), [
    (Transfer(seller="acme", buyer="globex", year=YEAR, quantity_t=5, price_per_t=80.0, currency="CNY"),
     "price_per_t"),
    (Statement(company="acme", year=YEAR, emissions_t=10.0, basis=Basis.CO2, manifest_hash=HASH),
     "emissions_t"),
])
def test_a_huge_integer_in_a_record_float_field_is_a_400_naming_it(node: Node, body: Any, name: str) -> None:
    _, url = node
    kit = RecordKit.make()
    doc = record_json(kit.sign(body, "n7" if name == "price_per_t" else "n5"))
    r = post(url, "/v1/records", with_number(doc, ("body", name)))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == f"record.body.{name}"
    assert "an integer of 401 digits" in r.json()["error"]      # named, not echoed
    assert len(r.json()["error"]) < 200


@pytest.mark.parametrize("route", ["/v1/emissions/query", "/v1/emissions/structure"])
@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_of_more_digits_than_int_converts_is_a_400_naming_it(node: Node, route: str,
                                                                   name: str) -> None:
    _, url = node
    for digits in (4300, 4301, 6000):
        r = httpx.get(f"{url}{route}", params={name: "1" * digits}, timeout=30)
        assert r.status_code == 400, (digits, r.text[:300])
        assert r.json()["field"] == name
        assert "is outside 1970-01-01..9999-01-01 UTC" in r.json()["error"]


class _Unused:
    """Stands for the node while the app is only built to list its routes: any attribute is one."""

    def __getattr__(self, name: str) -> _Unused:
        return _Unused()


def _get_routes() -> list[str]:
    """Every GET route of the API's own app, as written (the node is never called to list them)."""
    app = build_app(_Unused())  # type: ignore[arg-type]
    return [r.path for r in app.routes if "GET" in (getattr(r, "methods", None) or ())]


FILL = {"gateway_id": "gw1", "batch_seq": "1", "height": "1", "seq": "1", "record_id": "0" * 64,
        "member": "n1"}


def test_every_v1_get_route_refuses_a_parameter_it_does_not_read(node: Node) -> None:
    """docs/node.md: every /v1 route refuses an unknown parameter and one given twice, naming it.
    GET /v1/records/{id} did not (?bogus=1&bogus=2 was a 404 for an unknown record); a route
    added later is checked here without anyone remembering to."""
    cluster, url = node
    meter = cluster.genesis.meters[0].id
    routes = [p for p in _get_routes() if p.startswith("/v1/")]
    assert {"/v1/records/{record_id}", "/v1/status", "/v1/readings/{meter_id}/{seq}/proof"} <= set(routes)
    for template in routes:
        path = re.sub(r"\{(\w+)\}", lambda m: meter if m[1] == "meter_id" else FILL[m[1]], template)
        for query in ("bogus=1", "bogus=1&bogus=2"):
            r = httpx.get(f"{url}{path}?{query}", timeout=30)
            assert r.status_code == 400, (template, query, r.status_code, r.text[:300])
            assert r.json()["field"] == "bogus", (template, r.text[:300])
