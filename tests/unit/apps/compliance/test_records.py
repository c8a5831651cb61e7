"""The allowance records behind a position: `assemble` over the `AllowanceRecords` interface, and
its JSON-file implementation refusing bad records by name."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.jsonrecords import JsonRecords
from carbonlab.apps.compliance.model import Trade
from carbonlab.apps.compliance.position import position
from carbonlab.apps.compliance.records import AllowanceRecords, MarketData, assemble
from carbonlab.apps.compliance.ruleset import load_named

DATA = Path(__file__).parent / "testdata" / "records.json"
RAW: dict[str, Any] = json.loads(DATA.read_text())


def test_the_json_file_is_an_allowance_records_source() -> None:
    records = JsonRecords.load(DATA)
    source: AllowanceRecords = records          # the Protocols the chain's adapter will implement
    market: MarketData = records
    assert source.companies() == ["east-power", "north-power", "south-power"]
    assert market.market_price(2025, "EUR") is None


def test_assemble_folds_the_records_of_one_company_year() -> None:
    records = JsonRecords.load(DATA)
    got = assemble(records, records, "north-power", 2025, "CNY")
    ledger = got.ledger
    assert ledger.allocated_t == 1_000_000                  # two allocations
    assert ledger.bought == (Trade(20_000, 75.0, "CNY"),)   # bought from south-power
    assert ledger.sold == (Trade(5_000, 82.0, "CNY"),)      # sold to east-power
    assert (ledger.banked_t, ledger.surrendered_t, ledger.holdings_t) == (10_000, None, 1_025_000)
    assert (got.emissions.total_t, got.emissions.verifier) == (1_100_000, "verifier-1")
    assert (got.quality.substituted_share, got.quality.late_uploads) == (0.125, 3)
    assert got.price.price_per_t == 80.0
    south = assemble(records, records, "south-power", 2025, "CNY").ledger
    assert (south.holdings_t, south.surrendered_t) == (480_000, 470_000)


def test_records_to_position_under_cn_ets() -> None:
    records = JsonRecords.load(DATA)
    p = position(assemble(records, records, "north-power", 2025, "CNY"), load_named("cn-ets"))
    assert p.penalties == 5 * 80 * 75_000 + 25_000 + 3 * 500
    s = position(assemble(records, records, "south-power", 2025, "CNY"), load_named("cn-ets"))
    assert (s.surplus_t, s.bankable_t, s.asset_value, s.bonuses) == (10_000, 10_000, 800_000, 20_000)
    assert s.compliant


@pytest.mark.parametrize(("company", "year", "currency", "field"), [
    ("west-power", 2025, "CNY", "company"),
    ("north-power", 2024, "CNY", "statements"),
    ("east-power", 2025, "CNY", "statements"),
    ("north-power", 2025, "EUR", "market_prices"),
])
def test_what_a_position_needs_and_the_records_lack_is_named(company: str, year: int, currency: str,
                                                             field: str) -> None:
    records = JsonRecords.load(DATA)
    with pytest.raises(InputError) as info:
        assemble(records, records, company, year, currency, source=str(DATA))
    assert (info.value.source, info.value.field) == (str(DATA), field)


def _without_quality(raw: dict[str, Any]) -> None:
    raw["data_quality"] = []


def test_missing_data_quality_is_named_not_assumed() -> None:
    raw = copy.deepcopy(RAW)
    _without_quality(raw)
    records = JsonRecords.parse(raw, "r.json")
    with pytest.raises(InputError) as info:
        assemble(records, records, "north-power", 2025, "CNY")
    assert info.value.field == "data_quality"


@pytest.mark.parametrize(("key", "index", "change", "field", "problem"), [
    ("transfers", 0, {"price_per_t": -1}, "transfers[0].price_per_t", "0..1000000"),
    ("transfers", 1, {"buyer": "north-power"}, "transfers[1].buyer", "also the seller"),
    ("transfers", 0, {"settled_by": None}, "transfers[0].settled_by", "must be a non-empty string"),
    ("allocations", 2, {"quantity_t": "lots"}, "allocations[2].quantity_t", "must be a number"),
    ("allocations", 0, {"year": 1800}, "allocations[0].year", "1990..2200"),
    ("statements", 0, {"basis": "co2x"}, "statements[0].basis", "must be one of co2, co2e"),
    ("statements", 1, {"company": "north-power"}, "statements[1]", "a second record"),
    ("data_quality", 0, {"substituted_share": 1.5}, "data_quality[0].substituted_share", "0..1"),
    ("data_quality", 0, {"late_uploads": -2}, "data_quality[0].late_uploads", "0..1000000"),
    ("surrenders", 0, {"extra": 1}, "surrenders[0].extra", "unknown field"),
])
def test_a_bad_record_is_refused_by_name(key: str, index: int, change: dict[str, Any], field: str,
                                         problem: str) -> None:
    raw = copy.deepcopy(RAW)
    raw[key][index].update(change)
    with pytest.raises(InputError) as info:
        JsonRecords.parse(raw, "r.json")
    assert (info.value.source, info.value.field) == ("r.json", field)
    assert problem in info.value.problem


def test_a_file_that_is_not_json_or_has_unknown_parts_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{\n\"allocations\": [,]}")
    with pytest.raises(InputError) as info:
        JsonRecords.load(bad)
    assert info.value.field == "(file)"
    assert "line 2" in info.value.problem
    with pytest.raises(InputError) as info:
        JsonRecords.parse({"allocation": []}, "r.json")
    assert info.value.field == "allocation"
    assert "unknown field" in info.value.problem
    with pytest.raises(InputError) as info:
        JsonRecords.parse({"allocations": {}}, "r.json")
    assert info.value.field == "allocations"
    assert "must be a list" in info.value.problem


def test_co2e_emissions_must_name_their_gwp_set() -> None:
    raw = copy.deepcopy(RAW)
    raw["statements"][0]["basis"] = "co2e"
    raw["market_prices"].append({"year": 2025, "price_per_t": 70.0, "currency": "EUR"})
    for t in raw["transfers"]:
        t["currency"] = "EUR"
    records = JsonRecords.parse(raw, "r.json")
    inputs = assemble(records, records, "north-power", 2025, "EUR")
    with pytest.raises(InputError) as info:
        position(inputs, load_named("eu-ets"))
    assert info.value.field == "emissions.gwp_set"
