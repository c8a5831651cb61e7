"""`carbonlab plan dispatch|pathway` with hostile inputs: NaN or infinite prices and caps, a
time limit that is no limit, a horizon or a curve split that would run for hours, hours or years
out of order, absurd magnitudes, a misspelt field. Each is refused naming what is wrong (exit 2),
before any solver runs, never a traceback and never a silently wrong plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.cli import main

UNITS = {"units": [{"unit": "U1", "capacity_mw": 600, "min_mw": 240, "ramp_mw_per_h": 300,
                    "fuel_cost_per_mwh": 32, "curve": {"a": 48.9, "b": 0.766, "c": 6.7e-5},
                    "options": {"fixed_cost_per_year": 1e6}}]}


def _files(tmp_path: Path, units: dict | None = None, demand: str = "hour,demand_mw\n0,300\n1,400\n"
           ) -> tuple[str, str]:
    (tmp_path / "units.json").write_text(json.dumps(units or UNITS))
    (tmp_path / "demand.csv").write_text(demand)
    return str(tmp_path / "units.json"), str(tmp_path / "demand.csv")


def rc(argv: list[str]) -> int:
    """`main`'s exit code, also when argparse refuses an argument (SystemExit 2)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--carbon-price", "nan", "argument --carbon-price: must be a decimal number in ASCII digits, got 'nan'"),
    ("--carbon-price", "inf", "argument --carbon-price: must be a decimal number in ASCII digits, got 'inf'"),
    ("--cap-t", "nan", "argument --cap-t: must be a decimal number in ASCII digits, got 'nan'"),
    ("--time-limit-s", "-1", "carbonlab: error: time_limit_s: must be above 0 and at most 3600 s, got -1.0"),
    ("--time-limit-s", "nan", "argument --time-limit-s: must be a decimal number in ASCII digits"),
    ("--segments", "100000000", "carbonlab: error: segments: must be in 1..50, got 100000000"),
    # a price or cap beyond any market or year is refused before HiGHS (it printed 300 digits)
    ("--carbon-price", "1e308", "carbonlab: error: carbon_price: must be a finite number in [0, 1e+06], "
                                "got 1e+308"),
    ("--cap-t", "1e308", "carbonlab: error: cap_t: must be a finite number in [0, 1e+12], got 1e+308"),
    # Python's int() and float() take these; a command line of figures does not
    ("--segments", "1_0", "argument --segments: must be a whole number in ASCII digits, got '1_0'"),
    ("--segments", "\u0663", "argument --segments: must be a whole number in ASCII digits"),
])
def test_dispatch_options_out_of_range_are_refused(option: str, value: str, message: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = _files(tmp_path)
    assert rc(["plan", "dispatch", "--units", units, "--demand", demand, option, value]) == 2
    assert message in capsys.readouterr().err


def test_a_horizon_that_would_run_for_hours_is_refused(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"{h},300\n" for h in range(24 * 365))
    units, demand = _files(tmp_path, demand="hour,demand_mw\n" + rows)
    assert main(["plan", "dispatch", "--units", units, "--demand", demand]) == 2
    assert "demand: 8760 hours; a dispatch plans at most 744 (a month)" in capsys.readouterr().err


@pytest.mark.parametrize(("demand", "message"), [
    ("hour,demand_mw\n1,300\n0,400\n", "line 2: hour: must be 0 (hours count 0, 1, 2, ... in order), "
                                       "got '1'"),
    ("hour,demand_mw\n0,300\n0,400\n", "line 3: hour: must be 1 (hours count 0, 1, 2, ... in order), "
                                       "got '0'"),
])
def test_shuffled_or_repeated_hours_are_refused(demand: str, message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    units, path = _files(tmp_path, demand=demand)
    assert main(["plan", "dispatch", "--units", units, "--demand", path]) == 2
    assert f"{path} {message}" in capsys.readouterr().err


@pytest.mark.parametrize(("change", "message"), [
    ({"startup_cst": 5000}, "units[0]: startup_cst: unknown field; known are"),
    ({"initial_mw": 5000}, "unit U1: initial_mw: 5000 MW is above its capacity_mw 600"),
    ({"curve": {"a": 1, "b": 1, "c": 1e300}, "capacity_mw": 1e300, "ramp_mw_per_h": 1e300},
     "units[0] (U1): capacity_mw: must be a finite number in [0, 1e+06], got 1e+300"),
    # docs/planning.md: a curve of 1e300 is refused before HiGHS sees it (it was "optimal")
    ({"curve": {"a": 1e300, "b": 0.7, "c": 0}}, "units[0] (U1): curve.a: 1e+300 gives 1e+300 t/h at its "
                                                "capacity of 600 MW; a curve's terms must stay within 10 "
                                                "t/MWh x capacity (6000 t/h)"),
    ({"curve": {"a": 0, "b": 0.7, "c": 1e-1}}, "units[0] (U1): curve.c: 0.1 gives 36000 t/h"),
    ({"fuel_cost_per_mwh": 1e300}, "units[0] (U1): fuel_cost_per_mwh: must be a finite number in [0, 1e+06]"),
    ({"initial_mw": 100}, "unit U1: initial_mw: 100 MW is below its min_mw 240: a running unit is at least "
                          "at its minimum load (0 means off)"),
])
def test_bad_units_are_refused_by_field(change: dict, message: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = _files(tmp_path, {"units": [{**UNITS["units"][0], **change}]})
    assert main(["plan", "dispatch", "--units", units, "--demand", demand]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("years", "extra", "message"), [
    ("year,demand_mwh\n2027,1000\n2026,1000\n", [], "line 3: year: must be 2028 (years follow each other"),
    ("year,demand_mwh\n2026,1000\n2026,1000\n", [], "line 3: year: must be 2027 (years follow each other"),
    ("year,demand_mwh\n2026,1000\n", ["--discount-rate", "nan"], "argument --discount-rate: must be a "
                                                                  "decimal number in ASCII digits"),
    # (1 + r) ** y overflowed: an OverflowError traceback
    ("year,demand_mwh\n2026,1000\n", ["--discount-rate", "1e308"], "discount_rate: must be a finite number "
                                                                   "in [0, 1], got 1e+308"),
    ("year,demand_mwh\n2026,1000\n", ["--first-cap-t", "1e13"], "first_cap_t: must be a finite number in "
                                                                "[0, 1e+12], got 10000000000000.0"),
    ("year,demand_mwh\n2026,1000\n", ["--carbon-price", "1e308"], "carbon_price: must be a finite number in "
                                                                  "[0, 1e+06]"),
    ("year,demand_mwh\n-5,1000\n", [], "line 2: year: must be a year, got '-5'"),
    ("year,demand_mwh\n99999,1000\n", [], "year: the years must be in 1990..2200, got 99999..99999"),
    # int() of 5,000 digits: Python's "use sys.set_int_max_str_digits()" reached the user
    ("year,demand_mwh\n" + "9" * 5000 + ",1000\n", [], "line 2: year: must be a year, got '99999"),
    ("year,demand_mwh,x\n2026,1000\n", [], "line 2: 2 field(s), but the header has 3"),
    ("\ufeffyear,demand_mwh\n2026,1000\n2026,5\n", [], "line 3: year: must be 2027"),   # a BOM is read
])
def test_pathway_years_and_rates_are_checked(years: str, extra: list[str], message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = _files(tmp_path, demand=years)
    argv = ["plan", "pathway", "--units", units, "--demand", demand, "--first-cap-t", "1e6", *extra]
    assert rc(argv) == 2
    assert message in capsys.readouterr().err


def test_readings_of_a_unit_the_units_file_does_not_name_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = _files(tmp_path)
    readings = tmp_path / "readings.csv"
    readings.write_text("unit,interval_s,co2_kg,mwh\n" + "".join(f"U9,3600,{300 + k},{300 + 10 * k}\n"
                                                                for k in range(5)))
    assert main(["plan", "dispatch", "--units", units, "--demand", demand, "--readings", str(readings)]) == 2
    assert f"{readings}: unit: readings of 'U9', which {units} does not name" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    # Python's own text was printed: "... use sys.set_int_max_str_digits() to increase the limit"
    ('{"units": [{"unit": "U1", "capacity_mw": ' + "9" * 5000 + "}]}",
     "not valid JSON (an integer of 5,000 digits: at most 4,300 digits are read)"),
    # a curve's terms may be negative: the message said "a finite number >= -inf"
    (json.dumps({"units": [{**UNITS["units"][0], "curve": {"a": "-" + "9" * 400, "b": 0.7, "c": 0}}]}),
     "units[0] (U1): curve.a: must be a finite number, got '-999"),
])
def test_a_units_file_message_says_only_what_the_user_can_act_on(text: str, message: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = _files(tmp_path)
    Path(units).write_text(text)
    assert main(["plan", "dispatch", "--units", units, "--demand", demand]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "sys.set_int_max_str_digits" not in err
    assert "inf" not in err
