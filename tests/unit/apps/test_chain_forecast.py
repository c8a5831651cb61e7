"""Prices, positions and caps from allowance records on the chain: a real SQLite ledger whose
records were signed with the members' keys and executed by the allowance contract
(`chain_ledger.py`), read from the file and through a member-API stand-in over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from carbonlab.apps.chain import ApiChain, LedgerChain, open_chain
from carbonlab.apps.compliance.ruleset import load_named
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.chainprice import daily_prices, recent_price
from carbonlab.apps.forecast.outlook import outlook
from carbonlab.apps.planning.chaincap import chain_cap
from carbonlab.cli import main
from carbonlab.node.allowances.answers import Balance
from tests.unit.apps import chain_ledger as chain
from tests.unit.apps.chain_ledger import ALLOCATED, GAP_DAYS, TRADES

BOUGHT = sum(t.quantity_t for t in TRADES if t.accepted and t.buyer == "acme")
SOLD = sum(t.quantity_t for t in TRADES if t.accepted and t.seller == "acme")
HOLDINGS = ALLOCATED + BOUGHT - SOLD
PRICED = sum(1 for t in TRADES if t.accepted and t.price_per_t > 0)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "ledger.sqlite"
    chain.build(path)
    return path


@pytest.fixture(scope="module")
def api(ledger: Path) -> Iterator[str]:
    with chain.member_api(ledger) as url:
        yield url


def test_daily_prices_are_the_volume_weighted_accepted_transfers_with_gaps_said(ledger: Path) -> None:
    source = LedgerChain(ledger)
    try:
        got = daily_prices(source.transfers())
    finally:
        source.close()
    traded = sorted({t.day for t in TRADES})
    for day in traded:
        priced = [t for t in TRADES if t.day == day and t.accepted and t.price_per_t > 0]
        want = sum(t.quantity_t * t.price_per_t for t in priced) / sum(t.quantity_t for t in priced)
        i = got.series.dates.index(day)
        assert got.series.prices[i] == pytest.approx(want, rel=1e-12)
        assert got.volume_t[i] == sum(t.quantity_t for t in priced)
    # the refused transfer (999 per t, above the seller's balance) is not a price
    assert max(got.series.prices) < 100
    assert got.filled == GAP_DAYS
    assert got.longest_gap == 2
    for gap in GAP_DAYS:   # carried forward from the business day before
        i = got.series.dates.index(gap)
        assert got.series.prices[i] == got.series.prices[i - 1]
        assert got.volume_t[i] == 0
    assert got.zero_price == 1
    assert got.transfers == PRICED == 45     # 30 traded days, 15 of them with a second trade
    assert got.series.currency == "CNY"
    assert got.series.dates[0] == traded[0]
    assert got.series.dates[-1] == traded[-1]


def test_the_member_api_gives_what_the_ledger_file_gives(ledger: Path, api: str) -> None:
    by_file, by_api = LedgerChain(ledger), ApiChain(api)
    try:
        assert by_api.transfers() == by_file.transfers()
        assert by_api.transfers(2027) == []
        assert by_api.balance("acme", 2026) == by_file.balance("acme", 2026) == \
            Balance("acme", 2026, ALLOCATED, BOUGHT, SOLD, 0)
        y0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
        emitted = by_file.emitted_t("acme", y0, y0 + 366 * 86400)
        assert emitted == pytest.approx(chain.emitted_kg() / 1000, rel=1e-9)
        assert by_api.emitted_t("acme", y0, y0 + 366 * 86400) == pytest.approx(emitted, rel=1e-12)
    finally:
        by_file.close()
        by_api.close()


def test_forecast_price_reads_the_chain_from_a_file_or_a_member(
        ledger: Path, api: str, capsys: pytest.CaptureFixture[str]) -> None:
    for source in (["--ledger", str(ledger)], ["--node", api]):
        assert main(["forecast", "price", *source, "--weeks", "2"]) == 0
        out = capsys.readouterr().out
        assert f"chain: {PRICED} transfer(s) in CNY, 33 daily prices 2026-01-05..2026-02-18" in out
        assert "; 1 at price 0 left out" in out
        assert "gaps: 3 business day(s) without a trade carried the previous price forward " \
               "(longest run 2)" in out
        assert "2026-03-04:" in out      # two weeks of business days after 18 Feb
    assert main(["forecast", "price", "--ledger", str(ledger), "--weeks", "1", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["chain"]["filled"] == [d.isoformat() for d in GAP_DAYS]
    assert len(answer["median"]) == 5
    assert main(["forecast", "price", "--generate", "1", "--currency", "EUR"]) == 2
    assert "--currency: goes with --node or --ledger" in capsys.readouterr().err


def test_too_few_transfers_and_a_missing_source_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs transfers on two or more days"):
        daily_prices([])
    with pytest.raises(InputError, match=r"--node/--ledger: give one source"):
        open_chain()
    with pytest.raises(InputError, match=r"--ledger .*nope.sqlite: no such ledger file"):
        open_chain(ledger=tmp_path / "nope.sqlite")
    with pytest.raises(InputError, match="--price: no priced transfer in EUR"):
        recent_price([], "EUR")


def test_the_year_end_outlook_against_the_chain_is_computed_by_hand(ledger: Path) -> None:
    source = LedgerChain(ledger)
    try:
        balance = source.balance("acme", 2026)
    finally:
        source.close()
    assert HOLDINGS == 100_000 + BOUGHT - SOLD
    # four equally likely totals: 200 and 100 t under the holdings, 100 and 300 t over
    totals = [HOLDINGS - 200, HOLDINGS - 100, HOLDINGS + 100, HOLDINGS + 300]
    got = outlook(totals, balance, load_named("cn-ets"), price_per_t=60.0)
    assert got.holdings_t == HOLDINGS
    assert got.shortfall_probability == 0.5
    assert got.expected_shortfall_t == pytest.approx((100 + 300) / 4)
    assert got.expected_surplus_t == pytest.approx((200 + 100) / 4)
    # cn-ets: a fine of 5 (the documented default of 5..10) x the price per tonne not surrendered,
    # and the tonnes short are deducted from next year's allocation (valued at the price)
    assert got.expected_fine == pytest.approx((5 * 60 * 100 + 5 * 60 * 300) / 4)
    assert got.expected_owed_value == pytest.approx((60 * 100 + 60 * 300) / 4)
    assert got.expected_cost == pytest.approx(got.expected_fine + got.expected_owed_value)
    assert got.cost_lo == 0.0
    assert got.expected_surplus_value == pytest.approx((60 * 200 + 60 * 100) / 4)


def test_a_co2e_rule_set_is_refused_for_a_co2_forecast() -> None:
    with pytest.raises(InputError, match="--rules: the rule set eu-ets counts co2e"):
        outlook([1.0], Balance("acme", 2026, 1), load_named("eu-ets"), price_per_t=60.0)


def _records_csv(path: Path) -> Path:
    """acme at about 20 t/h from 1 January 2026 for 20 days: the year heads for ~175,000 t."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = ["time,company,plant,unit,co2_kg"]
    for h in range(24 * 20):
        kg = 20_000 + 2_000 * ((h % 24) >= 8) + 37 * (h * 7919 % 13)
        rows.append(f"{(start + timedelta(hours=h)).isoformat()},acme,plant1,unit1,{kg}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_forecast_emissions_position_against_the_chain(
        api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = _records_csv(tmp_path / "r.csv")
    args = ["forecast", "emissions", "--records", str(records), "--level", "company", "--name", "acme",
            "--horizon-h", "24", "--position", "--node", api, "--paths", "200"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"allocated 100,000 + bought {BOUGHT:,} - sold {SOLD:,} = {HOLDINGS:,} t" in out
    assert "under cn-ets at" in out
    assert "volume-weighted price of" in out
    assert "shortfall P=1.000" in out
    assert main([*args, "--json", "--price", "80"]) == 0
    o = json.loads(capsys.readouterr().out)[0]["outlook"]
    assert o["price_per_t"] == 80.0
    assert o["shortfall_probability"] == 1.0
    assert o["expected_fine"] == pytest.approx(5 * 80 * o["expected_shortfall_t"], rel=1e-9)


def test_forecast_emissions_position_needs_a_company_and_the_chain(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = _records_csv(tmp_path / "r.csv")
    base = ["forecast", "emissions", "--records", str(records), "--horizon-h", "24"]
    assert main([*base, "--position", "--node", "http://127.0.0.1:9"]) == 2
    assert "--position: needs --level company" in capsys.readouterr().err
    assert main([*base, "--level", "company", "--position"]) == 2
    assert "--position: needs the chain" in capsys.readouterr().err
    assert main([*base, "--node", "http://127.0.0.1:9"]) == 2
    assert "--node: with --records or --ledger goes with --position" in capsys.readouterr().err


def test_the_cap_from_the_chain_is_the_available_allowance_pro_rata() -> None:
    b = Balance("acme", 2026, 1000, 200, 100, 50)
    start = int(datetime(2026, 12, 31, tzinfo=UTC).timestamp())
    cap = chain_cap(b, 300.0, start_s=start, horizon_h=12)
    assert cap.holdings_t == 1100       # surrendered allowances still cover this year
    assert cap.available_t == 800.0
    assert cap.hours_left == 24
    assert cap.cap_t == pytest.approx(400.0)
    assert chain_cap(b, 300.0, start_s=start, horizon_h=12, share=1.0).cap_t == 800.0
    assert chain_cap(b, 5000.0, start_s=start, horizon_h=12).cap_t == 0.0    # already short
    with pytest.raises(InputError, match=r"--start: the horizon of 48 h .* runs past the end of 2026"):
        chain_cap(b, 0.0, start_s=start, horizon_h=48)
    with pytest.raises(InputError, match="--cap-share: must be above 0 and at most 1"):
        chain_cap(b, 0.0, start_s=start, horizon_h=12, share=1.5)


def test_plan_dispatch_takes_its_cap_from_the_chain(
        ledger: Path, api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units = tmp_path / "units.json"
    units.write_text(json.dumps({"units": [
        {"unit": "DIRTY", "capacity_mw": 100, "min_mw": 0, "ramp_mw_per_h": 100,
         "fuel_cost_per_mwh": 10, "curve": {"a": 0, "b": 1.0, "c": 0}},
        {"unit": "CLEAN", "capacity_mw": 100, "min_mw": 0, "ramp_mw_per_h": 100,
         "fuel_cost_per_mwh": 30, "curve": {"a": 0, "b": 0.4, "c": 0}}]}))
    demand = tmp_path / "demand.csv"
    demand.write_text("hour,demand_mw\n0,80\n1,80\n2,80\n")
    hours_left = (datetime(2027, 1, 1, tzinfo=UTC) - datetime(2026, 3, 1, tzinfo=UTC)).days * 24
    want = (HOLDINGS - chain.emitted_kg() / 1000) * 3 / hours_left
    for source in (["--ledger", str(ledger)], ["--node", api]):
        # pro rata, 3 h of the 7,344 left get 41.9 t: below the 96 t the clean unit alone emits
        assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand), *source,
                     "--cap-from-chain", "acme", "--start", "2026-03-01T00:00:00Z"]) == 2
        captured = capsys.readouterr()
        assert f"holds {HOLDINGS:,} t" in captured.out
        assert f"infeasible (cap): the cap of {want:,.3f} t is below the minimum emissions of 96.000 t" \
            in captured.err
    # a share of 0.0015 of what is left (154 t) lies between 96 t and the dirty unit's 240 t: it binds
    assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand), "--ledger", str(ledger),
                 "--cap-from-chain", "acme", "--start", "2026-03-01T00:00:00Z", "--cap-share", "0.0015",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cap_from_chain"]["holdings_t"] == HOLDINGS
    assert result["cap_from_chain"]["share"] == 0.0015
    cap = (HOLDINGS - chain.emitted_kg() / 1000) * 0.0015
    assert result["cap_t"] == pytest.approx(cap, rel=1e-9)
    assert result["cap_binding"] is True
    assert result["emissions_t"] == pytest.approx(cap, rel=1e-6)
    assert result["cap_shadow_price"] > 0
    assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand), "--node", api,
                 "--start", "2026-03-01T00:00:00Z"]) == 2
    assert "--start: goes with --cap-from-chain" in capsys.readouterr().err
    assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand),
                 "--cap-from-chain", "acme"]) == 2
    assert "--cap-from-chain: needs the chain: --node URL or --ledger FILE" in capsys.readouterr().err


def test_the_services_take_the_cap_and_the_outlook_from_a_chain_source(ledger: Path, api: str,
                                                                         tmp_path: Path) -> None:
    from carbonlab.apps.forecast import service as forecast
    from carbonlab.apps.forecast.series import read_records
    from carbonlab.apps.planning import service as planning

    body = {"units": [{"unit": "U1", "capacity_mw": 100, "min_mw": 0, "ramp_mw_per_h": 100,
                       "curve": {"a": 0, "b": 0.5, "c": 0}}],
            "demand_mw": [50, 50], "cap_from_chain": "acme", "start": "2026-12-31T00:00:00Z",
            "cap_share": 0.001, "png": False}
    source = ApiChain(api)
    try:
        request = planning.dispatch_request(body, chain=source)
        assert request.cap_from_chain is not None
        assert request.problem.cap_t == pytest.approx((HOLDINGS - chain.emitted_kg() / 1000) * 0.001)
        answer = planning.dispatch(request)
        assert answer.cap_from_chain == request.cap_from_chain
        assert answer.result.emissions_t == pytest.approx(50.0)
        for change, field in (({"start": None}, "request.start"),
                              ({"start": "2026-12-31T23:00:00Z"}, "request.start"),   # past the year
                              ({"cap_share": 2}, "request.cap_share"),
                              ({"cap_share": 0}, "request.cap_share"),
                              ({"cap_t": 5}, "request.cap_t")):
            with pytest.raises(InputError) as err:
                planning.dispatch_request({**body, **change}, chain=source)
            assert err.value.where == field
        with pytest.raises(InputError) as err:
            planning.dispatch_request(body)
        assert err.value.where == "request.cap_from_chain"
        with pytest.raises(InputError) as err:
            planning.dispatch_request({**body, "cap_from_chain": None})
        assert err.value.where == "request.start"

        records = read_records(_records_csv(tmp_path / "r.csv"))
        req = forecast.emissions_request({"level": "company", "name": "acme", "horizon_h": 24,
                                          "position": True, "paths": 100, "price": 70, "png": False})
        got = forecast.emissions(records, req, chain=source)
        assert got.outlook is not None
        assert got.outlook.holdings_t == HOLDINGS
        assert got.outlook.shortfall_probability == 1.0
        assert got.outlook.price_per_t == 70.0
        with pytest.raises(InputError) as err:
            forecast.emissions(records, req)
        assert err.value.where == "request.position"
        with pytest.raises(InputError) as err:
            forecast.emissions(records, forecast.emissions_request(
                {"name": "unit1", "position": True}), chain=source)
        assert err.value.where == "request.position"
        with pytest.raises(InputError) as err:
            forecast.emissions(records, forecast.emissions_request(
                {"level": "company", "name": "acme", "position": True, "rules": "mars-ets",
                 "png": False}), chain=source)
        assert err.value.where == "request.rules"
        prices = forecast.chain_prices(source)
        assert prices.filled == GAP_DAYS
        assert forecast.price(prices.series, forecast.price_request({"weeks": 1, "png": False})).png is None
    finally:
        source.close()
