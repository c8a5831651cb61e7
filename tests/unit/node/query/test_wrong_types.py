"""Values of the wrong type put into the readings and reading_days tables by hand: every query
that reads them refuses the file naming the table, the column and the row, never a TypeError
and never an answer that silently left the row out (`node/ledger/typedsql.py`)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger import Ledger, LedgerError
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from tests.unit.node.query.small_ledger import D, build

WHOLE = EmissionsFilter(since=D, until=D + 2 * 86_400)    # whole days: the day table answers
EDITS = [   # (SQL, what the error names)
    ("UPDATE readings SET interval_start = 'x' WHERE meter_id = 'm1' AND seq = 2",
     "readings.interval_start is text ('x')"),
    ("UPDATE readings SET co2_kg = 'x' WHERE meter_id = 'm1' AND seq = 2", "readings.co2_kg is text"),
    ("UPDATE readings SET substituted = 'x' WHERE meter_id = 'm1' AND seq = 2",
     "readings.substituted is text"),
    ("UPDATE readings SET interval_start = interval_start + 0.5 WHERE meter_id = 'm1' AND seq = 2",
     "readings.interval_start is a real number"),
    ("UPDATE readings SET gross_mwh = X'00' WHERE meter_id = 'm1' AND seq = 2",
     "readings.gross_mwh is a blob"),
]
DAY_EDITS = [
    ("UPDATE reading_days SET day_start = 'x' WHERE meter_id = 'm1' AND substituted = 1",
     "reading_days.day_start is text ('x')"),
    ("UPDATE reading_days SET co2_kg = 'abc' WHERE meter_id = 'm3'", "reading_days.co2_kg is text"),
    ("UPDATE reading_days SET readings = 2.5 WHERE meter_id = 'm3'",
     "reading_days.readings is a real number"),
]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("typed") / "l.db"
    build(where)
    return where


def _edited(clean: Path, tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "edited.db"
    shutil.copy(clean, path)
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()
    return path


def _refused(path: Path, call: Callable[[Ledger], object], named: str) -> None:
    with Ledger.open_readonly(path) as ledger, pytest.raises(LedgerError) as err:
        call(ledger)
    assert named in str(err.value), err.value
    assert str(path) in str(err.value), err.value
    assert "row meter_id=" in str(err.value), err.value


FILTERS = {"all": EmissionsFilter(), "range": EmissionsFilter(since=D, until=D + 7200),
           "since": EmissionsFilter(since=D + 60), "flags": EmissionsFilter.from_params({"flag": "N,M"})}
# the readings are read (not the day table) by these: a range of part days, a flag filter, or
# a period shorter than a day
READ = [(f, p) for f in FILTERS for p in (Period.INTERVAL, Period.HOUR, Period.DAY, Period.MONTH)
        if f != "all" or p in (Period.INTERVAL, Period.HOUR)]


@pytest.mark.parametrize(("sql", "named"), EDITS)
@pytest.mark.parametrize(("name", "period"), READ)
def test_the_query_refuses_a_reading_of_the_wrong_type_naming_it(
        clean: Path, tmp_path: Path, sql: str, named: str, name: str, period: Period) -> None:
    """`interval_start = 'x'` raised TypeError in the windows (rc 1) or, with a range, dropped
    the reading from the sums without a word; text in a sum added 0."""
    path = _edited(clean, tmp_path, sql)
    _refused(path, lambda ledger: ledger.emissions_query(FILTERS[name], period=period,
                                                         level=Level.METER), named)


@pytest.mark.parametrize(("sql", "named"), EDITS[:2])
def test_the_structure_and_the_api_reads_refuse_it_too(clean: Path, tmp_path: Path, sql: str,
                                                        named: str) -> None:
    path = _edited(clean, tmp_path, sql)
    _refused(path, lambda ledger: ledger.emissions_structure(EmissionsFilter(), GwpSet.AR5), named)
    _refused(path, lambda ledger: ledger.readings(since=D, limit=100), named)
    _refused(path, lambda ledger: ledger.emissions(group_by="meter", since=D, until=D + 86_400), named)


@pytest.mark.parametrize(("sql", "named"), DAY_EDITS)
def test_a_day_row_of_the_wrong_type_is_refused_by_the_roll_ups_that_read_it(
        clean: Path, tmp_path: Path, sql: str, named: str) -> None:
    path = _edited(clean, tmp_path, sql)
    for period in (Period.DAY, Period.MONTH, Period.YEAR):
        _refused(path, lambda ledger, p=period: ledger.emissions_query(  # type: ignore[misc]
            WHOLE, period=p, level=Level.METER), named)


@pytest.mark.parametrize("column", ["height", "interval_start"])
def test_text_a_range_would_hide_is_found_where_a_report_proves_readings(
        clean: Path, tmp_path: Path, column: str) -> None:
    """The report's roll-up reads the day table, its proofs the readings: with `height = 'x'`
    the reading was summed but not proven, and `report verify` of the built report failed."""
    path = _edited(clean, tmp_path, f"UPDATE readings SET {column} = 'x' WHERE meter_id = 'm1' AND seq = 2")
    _refused(path, lambda ledger: ledger.reading_positions(["m1", "m3"], D, D + 86_400, 3),
             f"readings.{column} is text ('x')")
    if column == "height":
        _refused(path, lambda ledger: ledger.readings(max_height=3), "readings.height is text")


def test_the_cli_says_it_in_one_line_with_exit_code_2(clean: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from carbonlab.cli import main

    path = _edited(clean, tmp_path, EDITS[0][0])
    assert main(["emissions", "query", "--ledger", str(path), "--format", "json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "readings.interval_start is text ('x')" in err, err
    assert "\n" not in err, err


def test_ledger_verify_names_the_text_height_of_a_reading_it_misses(clean: Path, tmp_path: Path) -> None:
    from carbonlab.node.ledger.verify import verify_ledger

    path = _edited(clean, tmp_path, "UPDATE readings SET height = 'x' WHERE meter_id = 'm1' AND seq = 2")
    with open_source(clean) as src:
        genesis = src.genesis
    problems = verify_ledger(path, genesis).problems
    assert any("m1/2" in p and "height is text ('x')" in p for p in problems), problems


def test_an_unedited_ledger_still_answers(clean: Path) -> None:
    with open_source(clean) as src:
        assert sum(r.readings for r in src.query(WHOLE, period=Period.MONTH, level=Level.METER).rows) == 7
        assert sum(r.readings for r in src.query(EmissionsFilter(), period=Period.HOUR).rows) == 7


@pytest.mark.parametrize("column", ["height", "interval_start"])
def test_report_build_refuses_the_ledger_instead_of_a_report_its_verify_fails(
        clean: Path, tmp_path: Path, column: str, capsys: pytest.CaptureFixture[str]) -> None:
    from carbonlab.cli import main

    path = _edited(clean, tmp_path, f"UPDATE readings SET {column} = 'x' WHERE meter_id = 'm1' AND seq = 2")
    out = tmp_path / "report"
    assert main(["report", "build", "--company", "acme", "--year", "2023", "--template", "cn-power",
                 "--ledger", str(path), "--out", str(out)]) == 2
    assert f"readings.{column} is text ('x')" in capsys.readouterr().err
    assert not out.exists()
