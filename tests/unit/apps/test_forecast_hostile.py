"""`carbonlab forecast emissions|price|backtest` with hostile inputs: paths and horizons that are
empty or would run for hours, a time a thousand years away, an interval given twice, a price
series of no days, a deadline at the end of time, a backtest of a thousand units. Each is refused
naming the option or the line (exit 2), before any model is fitted, never a traceback."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from carbonlab.apps.forecast.series import parse_time
from carbonlab.cli import main

START = 1_700_000_000


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "records.csv"
    rows = "".join(f"{START + 3600 * h},c,p,u,{1000 + 300 * math.sin(h / 24 * 2 * math.pi) + h % 7}\n"
                   for h in range(24 * 20))
    path.write_text("time,company,plant,unit,co2_kg\n" + rows)
    return path


@pytest.mark.parametrize(("extra", "message"), [
    (["--allowance-t", "100", "--paths", "0"], "--paths: must be in 1..100000, got 0"),
    (["--allowance-t", "100", "--paths", "-5"], "--paths: must be in 1..100000, got -5"),
    (["--horizon-h", "100000000"], "--horizon-h: must be in 1..8784 (a year of hours), got 100000000"),
])
def test_emission_options_out_of_range_are_refused(extra: list[str], message: str, records: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "emissions", "--records", str(records), "--horizon-h", "24", *extra]) == 2
    assert f"carbonlab: error: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(("rows", "message"), [
    (f"{START},c,p,,5\n", "line 2: unit: is empty"),
    (f"{START},c,p1,u,5\n{START + 3600},c,p2,u,5\n", "line 3: plant: unit 'u' is in c/p2 here but in c/p1 "
                                                      "on line 2"),
    (f"{START},c,p,u,5\n99999999999,c,p,u,5\n", "line 3: time: '99999999999' is not in the years 1990..2200"),
    (f"{START},c,p,u,5\n{START},c,p,u,5\n", f"line 3: time: unit 'u' has a record for {START} already "
                                            "(line 2): an interval counted twice"),
])
def test_bad_record_times_are_refused_by_line(rows: str, message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.csv"
    path.write_text("time,company,plant,unit,co2_kg\n" + rows)
    assert main(["forecast", "emissions", "--records", str(path)]) == 2
    assert f"{path} {message}" in capsys.readouterr().err


def test_an_iso_time_without_an_offset_is_utc() -> None:
    assert parse_time("t", "2023-11-14T22:13:20") == START
    assert parse_time("t", "2023-11-14T23:13:20+01:00") == START


@pytest.mark.parametrize(("argv", "message"), [
    (["price", "--generate", "1", "--days", "0"], "--days: must be in 30..20000 business days, got 0"),
    (["price", "--generate", "1", "--weeks", "100000000"], "--weeks: must be in 1..260, got 100000000"),
    (["price", "--generate", "1", "--deadline", "9999-12-31"],
     "--deadline: 9999-12-31 is more than 1300 business days after the last price's date"),
    (["backtest", "--units", "1000", "--days", "1000"], "--units: must be in 1..10, got 1000"),
    (["backtest", "--days", "1000"], "--days: must be in 2..60, got 1000"),
    (["backtest", "--horizon-h", "0"], "--horizon-h: must be in 1..120 (the held-out hours), got 0"),
    (["backtest", "--price-horizon", "0"],
     "--price-horizon: needs 1 <= --price-horizon <= --price-holdout < --price-days"),
])
def test_price_and_backtest_sizes_are_bounded(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", *argv]) == 2
    assert f"carbonlab: error: {message}" in capsys.readouterr().err


def test_an_output_path_that_cannot_be_written_is_refused_by_option(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "price", "--generate", "1", "--days", "60", "--png", str(tmp_path)]) == 2
    assert f"carbonlab: error: --png: {tmp_path} is a directory" in capsys.readouterr().err
    missing = tmp_path / "missing" / "p.csv"
    assert main(["forecast", "price", "--generate", "1", "--days", "60", "--write-csv", str(missing)]) == 2
    assert f"--write-csv: {missing}: cannot write (No such file or directory)" in capsys.readouterr().err
    assert main(["forecast", "price", "--generate", "1", "--days", "60",
                 "--write-csv", str(tmp_path / "p.csv"), "--png", str(tmp_path / "p.png")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.png"]    # no temporary left
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[:2] == ["date,price,currency", "2024-01-02,80.00,CNY"]


@pytest.mark.parametrize(("row", "message"), [
    ("2024-01-31,1e308,CNY", "line 31: price: must be a number in [0.01, 1e+06] per tonne, got '1e308'"),
    # one tiny price made a 90 % band of 0.00..4e27
    ("2024-01-31,1e-300,CNY", "line 31: price: must be a number in [0.01, 1e+06] per tonne, got '1e-300'"),
    ("2024-01-31,0.5,CNY", "line 31: price: 0.5 is more than 10 times above or below the price before it "
                           "(80): an outlier or a typo"),
    ("2024-01-31,80,", "line 31: currency: is empty"),
])
def test_a_bad_price_row_is_refused_by_line(row: str, message: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"2024-01-{d:02d},80,CNY\n" for d in range(1, 30))
    path = tmp_path / "p.csv"
    path.write_text("date,price,currency\n" + rows + row + "\n")
    assert main(["forecast", "price", "--csv", str(path)]) == 2
    assert f"{path} {message}" in capsys.readouterr().err


def _prices_ending(last: str, step_days: int, n: int = 40) -> str:
    from datetime import date, timedelta

    end = date.fromisoformat(last)
    return "date,price,currency\n" + "".join(
        f"{end - timedelta(days=step_days * (n - 1 - i))},{80 + i % 5}.00,CNY\n" for i in range(n))


@pytest.mark.parametrize(("last", "step_days"), [
    ("9999-12-31", 7),       # weekly: `last + timedelta(weeks=k)` raised OverflowError
    ("9999-12-31", 1),       # calendar days
    ("9999-12-31", 30),      # monthly: date(10000, 1, 31) raised ValueError
    ("9999-12-29", 1),       # business days (Wednesday): the two left are not four weeks' worth
])
def test_a_price_forecast_past_the_last_date_there_is_is_refused_naming_weeks(
        last: str, step_days: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "late.csv"
    path.write_text(_prices_ending(last, step_days))
    assert main(["forecast", "price", "--csv", str(path), "--weeks", "4"]) == 2
    err = capsys.readouterr().err
    assert "carbonlab: error: --weeks: 4 weeks of prices" in err
    assert "past 9999-12-31" in err


def test_the_cadence_ends_at_the_last_date_there_is() -> None:
    from datetime import date

    from carbonlab.apps.errors import InputError
    from carbonlab.apps.forecast.price import Cadence

    for cadence in Cadence:
        assert list(cadence.steps(date.max)) == []
        with pytest.raises(InputError) as info:
            cadence.step(date.max, 1)
        assert info.value.where == "date"
    assert Cadence.WEEK.after(date(9999, 12, 20), date.max) == [date(9999, 12, 27)]
    assert list(Cadence.MONTH.steps(date(9999, 10, 31))) == [date(9999, 11, 30), date(9999, 12, 31)]
    assert list(Cadence.BUSINESS_DAY.steps(date(9999, 12, 29))) == [date(9999, 12, 30), date(9999, 12, 31)]
