"""The query module on a hand-built ledger: exact totals, shares, filters, both table paths."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from carbonlab.node.ledger import Ledger
from carbonlab.node.model import DataFlag
from carbonlab.node.query import EmissionsFilter, FilterError, Gas, Level, Measured, Period, open_source
from tests.unit.node.query.small_ledger import M1, M3, D, build, kg


@pytest.fixture
def path(tmp_path: Path) -> Path:
    build(tmp_path / "l.db")
    return tmp_path / "l.db"


def test_hourly_rows_per_meter_with_missing_and_substituted(path: Path) -> None:
    with open_source(path) as src:
        res = src.query(EmissionsFilter(meter="m1", until=D + 7200), period=Period.HOUR,
                        level=Level.METER)
    assert [(r.period_start, r.period_end) for r in res.rows] == [(D, D + 3600), (D + 3600, D + 7200)]
    h0, h1 = res.rows
    assert h0.co2_kg == pytest.approx(kg(*M1[:3]), rel=1e-12)
    assert (h0.readings, h0.substituted, h0.expected, h0.missing) == (3, 0, 60, 57)
    assert h0.missing_share == 57 / 60
    assert h0.substituted_share == 0.0
    assert h1.co2_kg == pytest.approx(kg(M1[3]), rel=1e-12)
    assert (h1.readings, h1.substituted, h1.expected, h1.missing) == (1, 1, 60, 59)
    assert h1.substituted_share == 1.0
    assert (h0.company, h0.plant, h0.unit, h0.stack, h0.meter) == ("acme", "plant1", "unit1",
                                                                  "stack1", "m1")
    assert h0.ch4_kg is None
    assert h0.gross_mwh is None


def test_daily_company_totals_and_expected_from_first_and_last_reading(path: Path) -> None:
    with open_source(path) as src:
        res = src.query(EmissionsFilter(company="acme"), period=Period.DAY, level=Level.COMPANY)
    day0, day1 = res.rows
    assert (day0.period_start, day1.period_start) == (D, D + 86_400)
    assert day0.co2_kg == pytest.approx(kg(*M1[:4], *M3), rel=1e-12)
    assert day1.co2_kg == pytest.approx(kg(M1[4]), rel=1e-12)
    # m1's window is [D, D+86460): 1440 intervals on day 0, 1 on day 1; m3's [D, D+120): 2
    assert (day0.readings, day0.expected, day0.missing, day0.substituted) == (6, 1442, 1436, 1)
    assert (day1.readings, day1.expected, day1.missing) == (1, 1, 0)


def test_range_given_sets_expected_and_shows_empty_buckets(path: Path) -> None:
    with open_source(path) as src:
        res = src.query(EmissionsFilter(meter="m3", since=D, until=D + 3 * 3600),
                        period=Period.HOUR, level=Level.METER)
    assert [r.readings for r in res.rows] == [2, 0, 0]
    assert [r.missing for r in res.rows] == [58, 60, 60]
    assert res.rows[1].co2_kg is None


def test_flag_and_measured_filters_leave_missing_unchanged(path: Path) -> None:
    with open_source(path) as src:
        measured = src.query(EmissionsFilter(meter="m1", measured=Measured.MEASURED),
                             period=Period.DAY, level=Level.METER)
        maint = src.query(EmissionsFilter(meter="m1", flags=(DataFlag.MAINTENANCE,)),
                          period=Period.DAY, level=Level.METER)
    assert measured.rows[0].co2_kg == pytest.approx(kg(*M1[:3]), rel=1e-12)
    assert (measured.rows[0].readings, measured.rows[0].missing) == (3, 1436)
    assert maint.rows[0].readings == 0
    assert maint.rows[0].co2_kg is None
    assert maint.rows[1].co2_kg == pytest.approx(kg(M1[4]), rel=1e-12)


def test_year_and_all_levels_add_up(path: Path) -> None:
    with open_source(path) as src:
        year = src.query(EmissionsFilter(), period=Period.YEAR, level=Level.ALL)
        months = src.query(EmissionsFilter(), period=Period.MONTH, level=Level.PLANT)
    assert len(year.rows) == 1
    assert year.rows[0].co2_kg == pytest.approx(kg(*M1, *M3), rel=1e-12)
    assert year.rows[0].readings == 7
    assert {(r.company, r.plant) for r in months.rows} == {("acme", "plant1"), ("acme", "plant2")}
    assert sum(r.co2_kg or 0 for r in months.rows) == pytest.approx(kg(*M1, *M3), rel=1e-12)


def test_day_table_and_readings_give_the_same_rows(path: Path) -> None:
    flt = EmissionsFilter(since=D, until=D + 2 * 86_400)
    with open_source(path) as src:
        via_days = src.query(flt, period=Period.DAY, level=Level.METER)
        # a range not on whole days makes the engine sum the readings themselves
        via_readings = src.query(replace(flt, until=D + 2 * 86_400 - 1), period=Period.DAY,
                                 level=Level.METER)
    assert [(r.meter, r.period_start, r.readings, r.substituted) for r in via_days.rows] == \
        [(r.meter, r.period_start, r.readings, r.substituted) for r in via_readings.rows]
    for a, b in zip(via_days.rows, via_readings.rows, strict=True):
        assert (a.co2_kg is None) == (b.co2_kg is None)
        assert (a.co2_kg or 0.0) == pytest.approx(b.co2_kg or 0.0, rel=1e-12)
    assert any(r.co2_kg for r in via_days.rows)


def test_gas_filter_drops_other_gases(path: Path) -> None:
    with open_source(path) as src:
        only_ch4 = src.query(EmissionsFilter(gases=(Gas.CH4,)), period=Period.YEAR, level=Level.ALL)
    assert only_ch4.rows[0].co2_kg is None
    assert only_ch4.rows[0].readings == 7


@pytest.mark.parametrize(("params", "field"), [
    ({"company": "initech"}, "company"), ({"meter": "m9"}, "meter"),
    ({"since": str(D + 60), "until": str(D)}, "until"), ({"gas": "co2,sf6"}, "gas"),
    ({"flag": "Q"}, "flag"), ({"measured": "maybe"}, "measured"), ({"since": "yesterday"}, "since"),
    ({"company": "globex", "plant": "plant2"}, "company"),
])
def test_bad_filters_name_the_field(path: Path, params: dict[str, str], field: str) -> None:
    with open_source(path) as src, pytest.raises(FilterError) as err:
        src.query(EmissionsFilter.from_params(params))
    assert err.value.field == field


def test_an_unknown_name_is_answered_with_the_names_genesis_knows(path: Path) -> None:
    # it once read "unknown company 'initech' (genesis names none)" beside a genesis of companies
    with open_source(path) as src, pytest.raises(FilterError) as err:
        src.query(EmissionsFilter.from_params({"company": "initech"}))
    assert "genesis names acme, globex" in str(err.value)
    assert "none" not in str(err.value)


def test_an_old_file_without_the_day_table_is_filled_when_a_writer_opens_it(path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("DROP TABLE reading_days")
    db.execute("DELETE FROM meta WHERE key = 'aggregates'")
    db.commit()
    db.close()
    with open_source(path) as src:   # read-only: no table, the engine sums the readings
        before = src.query(EmissionsFilter(), period=Period.DAY, level=Level.ALL)
    kit_genesis = Ledger.open_readonly(path).genesis
    Ledger.open(path, kit_genesis).close()
    with open_source(path) as src:
        after = src.query(EmissionsFilter(), period=Period.DAY, level=Level.ALL)
    assert [(r.readings, r.missing) for r in before.rows] == [(r.readings, r.missing) for r in after.rows]
    assert after.rows[0].co2_kg == pytest.approx(kg(*M1[:4], *M3), rel=1e-12)
