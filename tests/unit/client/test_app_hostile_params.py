"""Hostile query strings and uploads sent to the console's real app (its member's node a closed
port: every answer below is decided before the node is asked). Each is a 400 naming the
parameter, with the value's echo cut, never a 500 and never a silent guess."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import anyio
import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.client.app import build_app
from carbonlab.client.appviews import state
from carbonlab.client.context import Console
from carbonlab.client.nodeapi import NodeApi


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Console]]:
    # never started: its genesis only
    cluster = LocalCluster.create(tmp_path_factory.mktemp("c"), 4, gateways=2, companies=True)
    member = next(m for m in cluster.genesis.members if m.id == "n1")
    own = Console(NodeApi(f"http://127.0.0.1:{_closed_port()}", timeout_s=2.0), cluster.genesis, member,
                  refresh_s=1.0)
    app = build_app(own, "t0ken")
    state(own).reader.timeout_s = 2.0
    yield app, own
    state(own).reports.close()


def request(app: Any, method: str, path: str, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"authorization": "Bearer t0ken", "accept": "application/json"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console",
                                     headers=headers) as http:
            return await http.request(method, path, **kw)
    return anyio.run(go)


MANY = "1" * 4301
LONG = "9" * 5000


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("path", "field"), [
    # the allowances page read its year with isdigit() and int(): '²' and '①' were 500s, 4301
    # digits too, and Arabic-Indic digits were taken as 2026
    ("/allowances?year=%C2%B2", "year"),
    ("/allowances?year=%E2%91%A0", "year"),
    ("/allowances?year=%D9%A2%D9%A0%D9%A2%D9%A6", "year"),
    (f"/allowances?year={MANY}", "year"),
    ("/allowances?year=1989", "year"),
    ("/allowances?colour=red", "colour"),
    # the compliance page kept the last of a repeated parameter (dict(query_params))
    ("/compliance?company=genco-a&company=genco-b", "company"),
    ("/compliance?company=company1&year=2026&year=2025", "year"),
    (f"/compliance?company=company1&year=2026&late_uploads={LONG}", "late_uploads"),
    ("/compliance?company=company1&year=2026&late_uploads=4%0B", "late_uploads"),
    ("/compliance?company=company1&year=%D9%A2%D9%A0%D9%A2%D9%A6", "year"),
    ("/compliance?company=company1&year=2026&price_per_t=1e999", "price_per_t"),
    # the forecasts page's integer: int() stripped the vertical tab
    ("/forecasts?run=price&weeks=4%0B", "weeks"),
    (f"/forecasts?run=price&weeks={LONG}", "weeks"),
    ("/reports?report=a&report=b", "report"),
    (f"/explorer/proof?meter=m1&seq={2**62 + 1}", "seq"),
])
def test_a_hostile_parameter_is_a_400_naming_it(console: tuple[Any, Console], path: str, field: str) -> None:
    app, _ = console
    got = request(app, "GET", path)
    assert got.status_code == 400, got.text[:300]
    assert got.json()["field"] == field
    assert len(got.json()["error"]) < 250, got.json()["error"]


@pytest.mark.timeout(60)
def test_the_declared_bound_of_a_reading_seq_is_accepted(console: tuple[Any, Console]) -> None:
    """seq=2**62, the declared maximum, was a 400 'expected an integer' (at most 18 digits)."""
    app, own = console
    meter = own.genesis.meters[0].id
    got = request(app, "GET", f"/explorer/proof?meter={meter}&seq={2**62}")
    assert got.status_code != 400, got.text[:300]       # the node is down: anything but a refusal


def _weekly_csv(last: date, n: int = 40) -> bytes:
    rows = ["date,price,currency"] + [f"{last - timedelta(weeks=n - 1 - i)},{80 + i % 5}.00,CNY"
                                      for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.timeout(60)
def test_a_price_forecast_past_the_last_date_there_is_is_a_400_naming_weeks(
        console: tuple[Any, Console]) -> None:
    """An outsider's find: weekly prices ending 9999-12-31 made `last + timedelta(weeks=k)` raise
    OverflowError, a 500 from POST /forecasts/price."""
    app, _ = console
    got = request(app, "POST", "/forecasts/price", data={"weeks": "4"},
                  files={"csv": ("late.csv", _weekly_csv(date(9999, 12, 31)), "text/csv")})
    assert got.status_code == 400, got.text[:300]
    assert got.json()["field"] == "weeks"
    assert "9999-12-31" in got.json()["error"]


def _console_get_routes(app: Any) -> list[str]:
    """Every GET route of the console's own app, as written (BodyGuard and the token gate around
    the Starlette app are unwrapped; the static files' mount is not a route)."""
    inner = app
    while not hasattr(inner, "routes"):
        inner = inner.app
    return [r.path for r in inner.routes if "GET" in (getattr(r, "methods", None) or ())]


@pytest.mark.timeout(120)
def test_every_get_route_refuses_a_parameter_it_does_not_read(console: tuple[Any, Console]) -> None:
    """docs/client.md: an unknown parameter is a 400 naming it. An outsider's re-test found
    /planning?bogus=1 and /forecasts?bogus=1 answered 200 (a form page without `run` read nothing),
    and /chain?bogus=1 said "allowed: " with nothing after it. Every GET route is walked, so a page
    added later is checked without anyone remembering to."""
    app, _ = console
    routes = _console_get_routes(app)
    assert {"/planning", "/forecasts", "/chain", "/events/apps_planning", "/reports/{report_id}/{name}",
            "/login", "/healthz", "/"} <= set(routes)
    for template in routes:
        path = template.replace("{report_id}", "r1").replace("{name}", "report.pdf")
        got = request(app, "GET", f"{path}?bogus=1")
        assert got.status_code == 400, (template, got.status_code, got.text[:300])
        assert got.json()["field"] == "bogus", (template, got.text[:300])
        assert "unknown parameter (this page " in got.json()["error"], (template, got.text[:300])
    got = request(app, "GET", "/chain?bogus=1").json()["error"]
    assert got.endswith("unknown parameter (this page takes no parameters)")
    got = request(app, "GET", "/planning?bogus=1").json()["error"]
    assert "takes cap_t, carbon_price, " in got
