"""The application pages against a real cluster: each page answers with the chain's data, the
actions a role may sign reach the contract and no others, hostile inputs get a 4xx naming the
field, a hostile zip is refused and a tampered bundle is shown failed."""
# ruff: noqa: F811  (the fixtures imported from appcluster are the tests' arguments)

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import httpx
import pytest

from carbonlab.bench.localcluster import T0, GatewayFeed, LocalCluster
from carbonlab.node.allowances.jsonform import record_json
from carbonlab.node.allowances.records import Allocation, sign_record
from carbonlab.node.crypto import Signer
from tests.sharedcluster import Claim

from .appcluster import Served, apps_claim, apps_cluster, consoles  # noqa: F401  (the module's fixtures)

YEAR = dt.datetime.now(dt.UTC).year           # an open compliance year
READINGS_YEAR = dt.datetime.fromtimestamp(T0, dt.UTC).year
FEEDS: list[GatewayFeed] = []                 # the gateways' feeds, their sequence numbers kept


@pytest.fixture(scope="module")
def fed(apps_cluster: LocalCluster, apps_claim: Claim) -> LocalCluster:
    """Readings of both companies on the chain: 3 batches per gateway (the pages' own two) of 20
    per meter."""
    cluster = apps_cluster
    url = cluster.url("n1")
    FEEDS[:] = apps_claim.feeds
    for feed in FEEDS:
        for _ in range(3):
            got = httpx.post(f"{url}/v1/batches", params={"wait_ms": 15_000}, timeout=30,
                             json=feed.next_batch(per_meter=20).to_json())
            assert got.status_code == 200, got.text
    return cluster


def _act(s: Served, **form: str) -> httpx.Response:
    with s.client() as http:
        return http.post("/allowances/action", data=form, headers={"accept": "application/json"})


@pytest.mark.timeout(300)
def test_every_application_page_answers_with_the_token_only(consoles: dict[str, Served]) -> None:
    s = consoles["n2"]
    with s.client() as http:
        for path, testid in (("/allowances", "allowances-balance"), ("/compliance", "compliance-form"),
                             ("/reports", "report-build-form"), ("/planning", "planning-dispatch-form"),
                             ("/forecasts", "forecast-emissions-form")):
            page = http.get(path)
            assert page.status_code == 200, (path, page.text[:300])
            assert f'data-testid="{testid}"' in page.text, path
            with http.stream("GET", f"/events/apps_{path[1:]}") as events:   # SSE: the first event only
                assert events.status_code == 200
                assert next(events.iter_text()).startswith("retry:")
    with s.client(token=False) as http:
        assert http.get("/allowances", headers={"accept": "application/json"}).status_code == 401
        assert http.post("/allowances/action", data={"kind": "allocation"}).status_code == 401
        refused = http.post("/reports/verify", content=b"x")      # refused from the head alone: the
        assert refused.status_code == 401                          # guard reads the small body after the
        assert "connection" not in refused.headers                 # answer, so the connection is kept
        # (carbonlab/asgi.py BodyGuard; before, it was closed: CI 2026-12-03) and used again here
        assert http.post("/reports/verify", content=b"x" * 100_000).status_code == 401
        assert http.get("/reports/x/report.pdf").status_code == 401


@pytest.mark.timeout(300)
def test_each_console_offers_its_roles_actions_and_no_others(consoles: dict[str, Served]) -> None:
    offered = {}
    for member, s in consoles.items():
        with s.client() as http:
            page = http.get("/allowances").text
            offered[member] = set(re.findall(r'data-testid="action-form-([a-z]+)"', page))
    assert offered == {"n1": {"surrender"}, "n2": {"allocation"}, "n3": {"statement"}, "n4": set()}


@pytest.mark.timeout(300)
def test_an_allocation_signed_in_one_console_is_committed_and_seen_in_another(
        consoles: dict[str, Served]) -> None:
    got = _act(consoles["n2"], kind="allocation", company="company1", year=str(YEAR), quantity_t="1000")
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer["status"] == "committed", answer
    assert answer["outcome"] == f"committed at height {answer['height']}"
    # the power company's console shows it in its balance and history
    with consoles["n1"].client() as http:
        page = http.get("/allowances", params={"company": "company1", "year": str(YEAR)}).text
    assert re.search(r'data-testid="balance-allocated">1,000 t<', page), page[:2000]
    assert f'data-testid="record-{answer["id"][:12]}" data-status="committed"' in page
    # a surrender above the balance: the contract refuses it and the console shows the reason
    got = _act(consoles["n1"], kind="surrender", company="company1", year=str(YEAR), quantity_t="5000")
    assert got.status_code == 200, got.text
    assert got.json()["status"] == "refused"
    assert "insufficient_balance" in got.json()["outcome"]


@pytest.mark.timeout(300)
def test_a_form_sent_twice_makes_one_record(consoles: dict[str, Served]) -> None:
    """A double click or a resend of the answer page: the form's token makes the second post
    submit the first one's record, so the allocation counts once (next year's: the
    compliance test reads this one's)."""
    year = str(YEAR + 1)
    with consoles["n2"].client() as http:
        pages = [http.get("/allowances", params={"company": "company2", "year": year}).text
                 for _ in range(2)]
    tokens = re.findall(r'name="form_token" value="([^"]+)" data-testid="action-allocation-form-token"',
                        "".join(pages))
    assert len(tokens) == 2, pages[0][:2000]
    assert tokens[0] != tokens[1]                              # each rendering its own
    form = {"kind": "allocation", "company": "company2", "year": year, "quantity_t": "700",
            "form_token": tokens[0]}
    first, again = _act(consoles["n2"], **form), _act(consoles["n2"], **form)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["status"] == "committed", first.json()
    assert again.json() == first.json()                        # the same record, the same height
    edited = _act(consoles["n2"], **{**form, "quantity_t": "7000"})
    assert edited.status_code == 409
    assert edited.json()["field"] == "form_token"
    with consoles["n1"].client() as http:
        page = http.get("/allowances", params={"company": "company2", "year": year}).text
    assert re.search(r'data-testid="balance-allocated">700 t<', page), page[:2000]
    assert len(re.findall(r'data-testid="record-[0-9a-f]{12}" data-status="committed"', page)) == 1


@pytest.mark.timeout(300)
def test_a_forged_action_is_refused_by_the_client_and_by_the_contract(
        apps_cluster: LocalCluster, consoles: dict[str, Served]) -> None:
    cluster = apps_cluster
    # the power company's console posting an allocation by hand: 403, nothing signed or sent
    got = _act(consoles["n1"], kind="allocation", company="company1", year=str(YEAR), quantity_t="10")
    assert got.status_code == 403
    assert got.json()["field"] == "kind"
    assert "emission-management" in got.json()["error"]
    got = _act(consoles["n1"], kind="surrender", company="company9", year=str(YEAR), quantity_t="1")
    assert got.status_code == 403
    got = _act(consoles["n4"], kind="allocation", company="company1", year=str(YEAR), quantity_t="10")
    assert got.status_code == 403
    # the same record signed with n1's own key and posted to the node: the contract refuses it
    key = Signer.load(cluster.root / "keys" / "n1.key")
    record = sign_record(Allocation(company="company1", year=YEAR, quantity_t=10), "n1", key,
                         chain_id=cluster.genesis.chain_id, seq=1)
    answer = httpx.post(f"{cluster.url('n1')}/v1/records", params={"wait_ms": 15_000},
                        json=record_json(record), timeout=30).json()
    assert answer["status"] == "refused"
    assert answer["reason"] == "wrong_role"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("method", "path", "data", "field"), [
    ("get", "/planning?run=dispatch&company=company1&demand_mw=100,abc", None, "demand_mw"),
    ("get", "/planning?run=dispatch&company=company1&demand_mw=100&carbon_price=-5", None, "carbon_price"),
    ("get", "/planning?run=dispatch&company=company1&demand_mw=100&evil=1", None, "evil"),
    ("get", "/planning?run=pathway&company=company1&demand_mwh=1&first_cap_t=x", None, "first_cap_t"),
    ("get", "/planning?run=optimise", None, "run"),
    ("get", "/forecasts?run=emissions&company=company1&horizon_h=-1", None, "horizon_h"),
    ("get", "/forecasts?run=emissions&company=nobody", None, "company"),
    ("get", "/compliance?company=company1&year=20x6", None, "year"),
    ("get", "/compliance?company=company1&year=2026&rules=../../etc/passwd", None, "rules"),
    ("get", "/allowances?year=3000", None, "year"),
    ("get", "/allowances?year=2026&year=2025", None, "year"),       # the probe: the last one was kept
    ("get", "/planning?run=dispatch&company=company1&company=company2&demand_mw=100", None, "company"),
    ("post", "/allowances/action", {"kind": "allocation", "company": "company1", "year": "2026",
                                    "quantity_t": "1e3"}, "quantity_t"),
    ("post", "/allowances/action", {"kind": "allocation", "company": "company1", "year": "2026"},
     "quantity_t"),
    ("post", "/allowances/action", {"kind": "gift"}, "kind"),
    ("post", "/reports/build", {"company": "company1", "year": "1066", "template": "cn-power"}, "year"),
    ("post", "/reports/build", {"company": "company1", "year": "2023", "template": "<script>"}, "template"),
    ("post", "/reports/build", {"company": "initech", "year": "2023"}, "company"),
])
def test_a_hostile_input_gets_a_4xx_naming_the_field(consoles: dict[str, Served], method: str, path: str,
                                                     data: dict[str, str] | None, field: str) -> None:
    with consoles["n2"].client() as http:
        got = http.request(method.upper(), path, data=data, headers={"accept": "application/json"})
    assert 400 <= got.status_code < 500, got.text[:300]
    assert got.json()["field"] == field, got.json()


@pytest.mark.timeout(300)
def test_an_oversized_or_wrongly_typed_body_is_refused(consoles: dict[str, Served]) -> None:
    with consoles["n2"].client() as http:
        got = http.post("/allowances/action", content=b"a=" + b"x" * 100_000,
                        headers={"content-type": "application/x-www-form-urlencoded",
                                 "accept": "application/json"})
        assert got.status_code == 413
        assert got.json()["field"] == "body"
        got = http.post("/allowances/action", content=b'{"kind": "allocation"}',
                        headers={"content-type": "application/json", "accept": "application/json"})
        assert got.status_code == 415


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _bump_first_figure(value: object) -> bool:
    """Add 1 to the first non-integral number in the report's tables (a tonnage)."""
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value)) \
        if isinstance(value, list) else []
    for key, item in items:
        if isinstance(item, float) and not item.is_integer():
            value[key] = item + 1.0  # type: ignore[index]
            return True
        if _bump_first_figure(item):
            return True
    return False


def _verify(http: httpx.Client, data: bytes) -> httpx.Response:
    return http.post("/reports/verify", files={"bundle": ("bundle.zip", data, "application/zip")},
                     headers={"accept": "application/json"})


@pytest.mark.timeout(600)
def test_a_report_is_built_downloaded_and_verified_and_a_tampered_one_fails(
        fed: LocalCluster, consoles: dict[str, Served]) -> None:
    with consoles["n3"].client() as http:
        got = http.post("/reports/build", data={"company": "company1", "year": str(READINGS_YEAR),
                                                "template": "eu-mrr", "gwp": "AR5"},
                        headers={"accept": "application/json"})
        assert got.status_code == 201, got.text
        built = got.json()
        assert built["readings"] == 120            # 3 batches x 2 meters x 20 readings
        rid = built["id"]
        page = http.get("/reports").text
        assert f'data-testid="report-{rid}"' in page
        pdf = http.get(f"/reports/{rid}/report.pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        assert http.get(f"/reports/{rid}/..%2F..%2Fgenesis.json").status_code == 404
        assert http.get(f"/reports/{rid}/secret.txt").status_code == 404
        bundle = http.get(f"/reports/{rid}/bundle.zip")
        assert bundle.status_code == 200
        good = _verify(http, bundle.content)
        assert good.status_code == 200, good.text
        assert good.json()["ok"] is True, good.json()
        upload = {"bundle": ("b.zip", bundle.content, "application/zip")}
        html = http.post("/reports/verify", files=upload).text
        assert 'data-testid="verify-verdict" data-ok="yes"' in html
        # one figure of report.json changed: shown failed, naming the figure
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as zf:
            files = {n: zf.read(n) for n in zf.namelist()}
        doc = json.loads(files["report.json"])
        assert _bump_first_figure(doc["tables"]), doc["tables"]
        files["report.json"] = json.dumps(doc).encode()
        bad = _verify(http, _zip(files))
        assert bad.status_code == 200, bad.text
        assert bad.json()["ok"] is False
        assert bad.json()["problems"], bad.json()
        html = http.post("/reports/verify", files={"bundle": ("b.zip", _zip(files), "application/zip")}).text
        assert 'data-ok="no"' in html
        assert 'data-testid="problem-1"' in html
        # hostile archives
        for data, words in ((b"not a zip", "not a zip archive"),
                            (_zip({"../../../tmp/evil": b"x", "manifest.json": b"{}"}), "is not a file"),
                            (_zip({"manifest.json": b"{}", "proofs.json": b"\0" * (64 << 20)}), "zip bomb")):
            got = _verify(http, data)
            assert got.status_code == 400, got.text
            assert got.json()["field"] == "bundle"
            assert words in got.json()["error"]
        got = http.post("/reports/verify", files={"other": ("x.zip", b"x", "application/zip")},
                        headers={"accept": "application/json"})
        assert got.status_code == 400
        assert got.json()["field"] == "other"


@pytest.mark.timeout(300)
def test_planning_names_the_missing_unit_data_and_forecasts_price_from_a_csv(
        fed: LocalCluster, consoles: dict[str, Served]) -> None:
    with consoles["n1"].client() as http:
        # the feed's readings carry no load: the unit curves cannot be fitted, and the page says so
        got = http.get("/planning", params={"run": "dispatch", "company": "company1", "demand_mw": "150,200"},
                       headers={"accept": "application/json"})
        assert got.status_code == 400
        assert got.json()["field"] == "company"
        assert "load" in got.json()["error"]
        # company2's units have no limits in genesis
        got = http.get("/planning", params={"run": "dispatch", "company": "company2", "demand_mw": "150"},
                       headers={"accept": "application/json"})
        assert got.status_code == 400
        assert "limits" in got.json()["error"]
        rows = ["date,price,currency"] + [f"2026-{1 + i // 28:02d}-{1 + i % 28:02d},{80 + (i % 7) * 0.5},CNY"
                                          for i in range(60)]
        got = http.post("/forecasts/price", data={"weeks": "2"},
                        files={"csv": ("p.csv", "\n".join(rows).encode(), "text/csv")},
                        headers={"accept": "application/json"})
        assert got.status_code == 200, got.text
        assert got.json()["currency"] == "CNY"
        assert got.json()["cadence"] == "day"        # calendar days (weekends too): 2 weeks, 14 steps
        assert len(got.json()["median"]) == 14
        bad = "\n".join([*rows[:10], "2026-13-01,80,CNY"])
        got = http.post("/forecasts/price", files={"csv": ("p.csv", bad.encode(), "text/csv")},
                        headers={"accept": "application/json"})
        assert got.status_code == 400
        assert "date" in got.json()["field"]
        # no transfer on the chain yet: the chain's price series is refused naming it
        got = http.get("/forecasts", params={"run": "price", "source": "chain"},
                       headers={"accept": "application/json"})
        assert got.status_code == 400
        assert got.json()["field"] == "prices"


@pytest.mark.timeout(600)
def test_the_emissions_forecast_reads_two_days_of_the_chain(fed: LocalCluster,
                                                            consoles: dict[str, Served]) -> None:
    """Run last: it adds two days of minute readings of company1's gateway (its report test counted
    the first hour only)."""
    own = {m.id for m in fed.genesis.meters if m.company == "company1"}
    feed = next(f for f in FEEDS if set(f.meters) & own)
    for _ in range(6):                                  # 6 x 480 minutes = 48 h per meter
        got = httpx.post(f"{fed.url('n1')}/v1/batches", params={"wait_ms": 30_000}, timeout=60,
                         json=feed.next_batch(per_meter=480).to_json())
        assert got.status_code == 200, got.text
    with consoles["n1"].client() as http:
        page = http.get("/forecasts", params={"run": "emissions", "company": "company1", "horizon_h": "24",
                                              "allowance_t": "50", "price": "80"})
        assert page.status_code == 200, page.text[:500]
        total = re.search(r'data-testid="forecast-total">([0-9,.]+) t<', page.text)
        assert total is not None, page.text[:3000]
        assert float(total.group(1).replace(",", "")) > 0
        assert 'data-testid="forecast-chart"' in page.text
        # two days are too few for the year end (14 whole days): the page says so, naming why
        assert 'data-testid="year-end-note"' in page.text
        assert "14 whole days" in page.text


@pytest.mark.timeout(300)
def test_the_compliance_position_comes_from_the_chains_records_with_its_clauses(
        consoles: dict[str, Served]) -> None:
    got = _act(consoles["n2"], kind="allocation", company="company2", year=str(YEAR), quantity_t="500")
    assert got.json()["status"] == "committed", got.text
    with consoles["n2"].client() as http:
        # no verifier's statement yet: the missing input is named
        early = http.get("/compliance", params={"company": "company2", "year": str(YEAR), "rules": "cn-ets",
                                                "price_per_t": "80"}, headers={"accept": "application/json"})
    assert early.status_code == 400
    assert early.json()["field"] == "statements"
    got = _act(consoles["n3"], kind="statement", company="company2", year=str(YEAR), emissions_t="620.5",
               basis="co2", manifest_hash="ab" * 32)
    assert got.json()["status"] == "committed", got.text
    with consoles["n1"].client() as http:
        page = http.get("/compliance", params={"company": "company2", "year": str(YEAR), "rules": "cn-ets",
                                               "price_per_t": "80"})
    assert page.status_code == 200, page.text[:500]
    assert 'data-testid="position-emissions">620.5 t<' in page.text
    assert 'data-testid="position-holdings">500 t<' in page.text
    assert 'data-testid="position-shortfall">120.5 t<' in page.text
    assert 'data-testid="position-compliant">no<' in page.text
    assert re.search(r'data-testid="outcome-[a-z_]+" data-applies="yes"', page.text)
    assert 'data-testid="clause-' in page.text
