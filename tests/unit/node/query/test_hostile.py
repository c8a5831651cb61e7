"""Hostile query parameters and hand-edited files against the query and structure engines: each
is refused naming what was wrong, never a traceback and never a silently partial answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.node.gwp import GwpSet
from carbonlab.node.query import EmissionsFilter, FilterError, Level, Period, open_source
from tests.unit.node.query.small_ledger import D, build


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("hostile") / "l.db"
    build(where)
    return where


@pytest.mark.parametrize("params", [
    {"since": str(10**30)}, {"until": str(2**63)}, {"since": str(-10**30)},
    {"since": "-1000000000000"}, {"since": "9999-11-01", "until": "9999-12-31"},
    {"since": "0001-01-01", "until": "0001-03-01"}, {"since": "1_700_006_400"},
    {"since": "\u0661\u0662\u0663"},   # Arabic-Indic digits: int() takes them, no one means them
])
@pytest.mark.parametrize("period", [Period.INTERVAL, Period.DAY, Period.MONTH, Period.YEAR])
def test_times_out_of_range_or_not_plain_digits_are_refused_by_name(
        path: Path, params: dict[str, str], period: Period) -> None:
    field = "until" if "until" in params and "since" not in params else "since"
    with open_source(path) as src, pytest.raises(FilterError) as err:
        src.query(EmissionsFilter.from_params(params), period=period, level=Level.METER)
    assert err.value.field == field, err.value


@pytest.mark.parametrize(("since", "until", "field"), [
    (10**30, None, "since"), (None, 2**63, "until"), (-5, D, "since"), (D, 253_402_300_800, "until"),
])
def test_a_python_filter_with_times_out_of_range_is_refused_by_name(
        path: Path, since: int | None, until: int | None, field: str) -> None:
    flt = EmissionsFilter(since=since, until=until)
    with open_source(path) as src:
        for call in (lambda: src.query(flt, period=Period.MONTH),
                     lambda: src.structure(flt, GwpSet.AR5)):
            with pytest.raises(FilterError) as err:
                call()
            assert err.value.field == field


def test_a_range_of_more_than_100000_empty_intervals_is_answered_whole(path: Path) -> None:
    """It was cut at 100,000 added rows without a word: periods with expected intervals and no
    reading were silently missing from the answer."""
    since, until = D - 30 * 86_400, D + 2 * 86_400
    with open_source(path) as src:
        rows = src.query(EmissionsFilter(since=since, until=until), period=Period.INTERVAL,
                         level=Level.METER).rows
    assert len(rows) == 3 * (until - since) // 60
    assert sum(r.expected for r in rows) == len(rows)
    assert sum(r.readings for r in rows) == 7


def test_an_answer_over_the_row_limit_is_refused_naming_the_period(path: Path) -> None:
    from carbonlab.node.query_names import MAX_ROWS

    flt = EmissionsFilter(since=D - 800 * 86_400, until=D + 86_400)
    assert 3 * (flt.until - flt.since) // 60 > MAX_ROWS   # type: ignore[operator]
    with open_source(path) as src, pytest.raises(FilterError) as err:
        src.query(flt, period=Period.INTERVAL, level=Level.METER)
    assert err.value.field == "period"
    assert f"at most {MAX_ROWS:,}" in str(err.value)
    with open_source(path) as src:   # the same range by day is a small answer
        assert len(src.query(flt, period=Period.DAY, level=Level.METER).rows) == 3 * 801


def _edit(path: Path, *sql: str) -> None:
    import sqlite3

    db = sqlite3.connect(path)
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def _monthly(path: Path) -> list[tuple[float | None, int]]:
    with open_source(path) as src:
        rows = src.query(EmissionsFilter(), period=Period.MONTH, level=Level.METER).rows
    return [(r.co2_kg, r.readings) for r in rows]


def test_a_dropped_day_table_is_named_by_verify_and_queries_still_answer(tmp_path: Path) -> None:
    """The table dropped, its `aggregates` mark kept: a month query was an OperationalError
    traceback, `ledger verify` said ok, and a writer opening the file made an empty table that
    the mark declared complete: every day, month and year roll-up then summed to nothing."""
    from carbonlab.node.ledger import Ledger
    from carbonlab.node.ledger.verify import verify_ledger

    path = tmp_path / "l.db"
    kit = build(path)
    want = _monthly(path)
    assert sum(n for _, n in want) == 7
    _edit(path, "DROP TABLE reading_days")
    assert _monthly(path) == want                     # read-only: summed from the readings
    problems = verify_ledger(path, kit.genesis).problems
    assert len(problems) == 1, problems
    assert "reading_days" in problems[0]
    Ledger.open(path, kit.genesis).close()            # a writer rebuilds it from the readings
    assert _monthly(path) == want
    assert verify_ledger(path, kit.genesis).problems == []


def test_a_day_row_with_text_in_a_sum_is_named_by_verify(tmp_path: Path) -> None:
    from carbonlab.node.ledger.verify import verify_ledger

    path = tmp_path / "l.db"
    kit = build(path)
    _edit(path, "UPDATE reading_days SET co2_kg = 'abc' WHERE meter_id = 'm3'")
    problems = verify_ledger(path, kit.genesis).problems
    assert len(problems) == 1, problems
    assert "reading_days row m3" in problems[0]


def test_proofs_are_built_only_for_the_readings_the_filter_selects(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The proof budget counts the selected readings, but every reading of a row's range had
    its proof built (and its batch decoded) before the flag and measured filters dropped it: a
    filter selecting one reading of millions built millions of proofs."""
    from carbonlab.node.ledger import proof as proof_module
    from carbonlab.node.query import prove

    built: list[tuple[str, int]] = []
    real = proof_module.build_proof

    def counted(ledger: object, db: object, meter: str, seq: int, cache: object = None) -> object:
        built.append((meter, seq))
        return real(ledger, db, meter, seq, cache)   # type: ignore[arg-type]

    monkeypatch.setattr(prove, "build_proof", counted)
    with open_source(path) as src:
        maintenance = src.query(EmissionsFilter.from_params({"flag": "M"}), period=Period.YEAR,
                                level=Level.ALL, proofs=True)
        substituted = src.query(EmissionsFilter.from_params({"measured": "substituted"}),
                                period=Period.YEAR, level=Level.ALL, proofs=True)
    assert [len(r.proofs) for r in maintenance.rows] == [1]
    assert [len(r.proofs) for r in substituted.rows] == [1]
    assert built == [("m1", 5), ("m1", 4)]


def test_a_damaged_page_is_an_error_naming_the_file_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A page of the readings table overwritten (a disk fault, a bad copy): the file opens, and
    the query, the structure and the CLI raised sqlite3.DatabaseError."""
    import sqlite3

    from carbonlab.cli import main
    from carbonlab.node.ledger import LedgerError

    path = tmp_path / "l.db"
    build(path)
    db = sqlite3.connect(path)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'readings'").fetchone()[0]
    db.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xde\xad" * (page_size // 2))
    with open_source(path) as src:
        for call in (lambda: src.query(EmissionsFilter(), period=Period.HOUR),
                     lambda: src.structure(EmissionsFilter(), GwpSet.AR5)):
            with pytest.raises(LedgerError, match="cannot read the ledger"):
                call()
    for command in ("query", "structure"):
        assert main(["emissions", command, "--ledger", str(path)]) == 2
        assert f"error: {path}: cannot read the ledger" in capsys.readouterr().err


@pytest.mark.parametrize(("flt", "field"), [
    (EmissionsFilter(until=D - 86_400), "until"),        # before the first reading
    (EmissionsFilter(since=D + 10 * 86_400), "since"),   # after the last reading's end
])
def test_a_structure_range_that_ends_before_it_starts_is_refused_naming_the_bound(
        path: Path, flt: EmissionsFilter, field: str) -> None:
    """One bound given, the other taken from the ledger: the structure answered with `until`
    before `since` and a 'previous period' after both."""
    with open_source(path) as src, pytest.raises(FilterError) as err:
        src.structure(flt, GwpSet.AR5)
    assert err.value.field == field
    assert "reading" in err.value.problem


def test_a_reading_past_the_year_9999_on_the_ledger_is_named_not_a_crash(tmp_path: Path) -> None:
    """The contract takes an interval_start up to 2**40 (year 36812): a gateway with a broken
    clock can put one on the chain. Month and year roll-ups then raised a datetime ValueError
    (HTTP 500); they now ask for an `until`, and with one they answer."""
    from carbonlab.node.ledger import Ledger
    from carbonlab.node.query.filters import MAX_TIME
    from tests.unit.node.factories import make_kit, make_reading

    far = 2**40 - 2**40 % 60
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [kit.batch("gw1", 1, [make_reading("m1", 1, D),
                                                               make_reading("m1", 2, far)]).encode()]))
        assert ledger.reading_count() == 2
    with open_source(path) as src:
        for period in (Period.MONTH, Period.YEAR):
            with pytest.raises(FilterError) as err:
                src.query(EmissionsFilter(), period=period)
            assert err.value.field == "until"
            assert "9999" in err.value.problem
            rows = src.query(EmissionsFilter(until=MAX_TIME), period=period, level=Level.ALL).rows
            assert sum(r.readings for r in rows) == 1
        tree = src.structure(EmissionsFilter(), GwpSet.AR5)
        assert tree.root.totals.readings == 2


def test_the_row_limit_is_the_callers_to_lift(path: Path) -> None:
    flt = EmissionsFilter(since=D - 10 * 86_400, until=D + 2 * 86_400)
    with open_source(path) as src:
        with pytest.raises(FilterError) as err:
            src.query(flt, period=Period.DAY, level=Level.METER, max_rows=35)
        assert "at most 35" in str(err.value)
        assert len(src.query(flt, period=Period.DAY, level=Level.METER, max_rows=None).rows) == 36


def test_a_day_table_missing_a_column_is_named_and_not_read(tmp_path: Path) -> None:
    """`ALTER TABLE reading_days DROP COLUMN co2_kg`: queries read the table anyway and said
    'not measured' for CO2 everywhere, verify stopped at 'no such column', and a writer kept
    the table (its next commit would fail)."""
    from carbonlab.node.ledger import Ledger
    from carbonlab.node.ledger.verify import verify_ledger

    path = tmp_path / "l.db"
    kit = build(path)
    want = _monthly(path)
    _edit(path, "ALTER TABLE reading_days DROP COLUMN co2_kg")
    assert _monthly(path) == want
    problems = verify_ledger(path, kit.genesis).problems
    assert len(problems) == 1, problems
    assert "reading_days" in problems[0]
    Ledger.open(path, kit.genesis).close()
    assert _monthly(path) == want
    assert verify_ledger(path, kit.genesis).problems == []


@pytest.mark.parametrize("sql", ["UPDATE batches SET request = substr(request, 1, 40)",
                                 "UPDATE blocks SET header = substr(header, 1, 10) WHERE height = 1"])
def test_stored_bytes_that_do_not_decode_are_a_ledger_error_naming_the_file(
        tmp_path: Path, sql: str) -> None:
    """A batch or header cut short in the file: a query with proofs raised the decoder's
    SchemaError ('batch: not valid msgpack'), which the API does not map (HTTP 500) and which
    named neither the file nor what to run."""
    from carbonlab.node.ledger import LedgerError

    path = tmp_path / "l.db"
    build(path)
    _edit(path, sql)
    with open_source(path) as src, pytest.raises(LedgerError) as err:
        src.query(EmissionsFilter(), period=Period.DAY, proofs=True)
    assert str(path) in str(err.value)
    assert "ledger verify" in str(err.value)


def test_a_single_reading_proof_over_undecodable_bytes_is_a_ledger_error(tmp_path: Path) -> None:
    from carbonlab.node.ledger import Ledger, LedgerError

    path = tmp_path / "l.db"
    build(path)
    _edit(path, "UPDATE batches SET request = substr(request, 1, 40)")
    with Ledger.open_readonly(path) as ledger, pytest.raises(LedgerError, match="ledger verify"):
        ledger.reading_proof("m1", 1)


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("raw", ["1" * 4301, "1" * 100_000, "-" + "9" * 5000, "+" + "1" * 4301],
                         ids=["4301", "100000", "minus-5000", "plus-4301"])
def test_a_time_of_more_digits_than_int_converts_is_refused_by_name(name: str, raw: str) -> None:
    """An outsider's find: 4,300 digits were refused as out of range, 4,301 made int() raise its
    own limit (a 500 from /v1/emissions/query and /structure); the digits are counted first."""
    with pytest.raises(FilterError) as err:
        EmissionsFilter.from_params({name: raw})
    assert err.value.field == name
    assert "is outside 1970-01-01..9999-01-01 UTC" in err.value.problem
    assert len(err.value.problem) < 150


def test_leading_zeros_do_not_count_as_digits() -> None:
    assert EmissionsFilter.from_params({"since": "0" * 5000 + "1700006400"}).since == 1_700_006_400
