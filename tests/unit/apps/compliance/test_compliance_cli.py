"""`carbonlab compliance rules|position`: output on the shipped rule sets and the test records,
errors as one line naming the field (exit 2), and nothing of apps imported for `--help`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carbonlab.cli import main

DATA = Path(__file__).parent / "testdata" / "records.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_rules_lists_the_shipped_rule_sets(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compliance", "rules")
    assert rc == 0
    assert [line.split()[0] for line in out.splitlines()] == ["cn-ets", "eu-ets"]


def test_rules_shows_clauses_and_says_which_were_not_checked(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compliance", "rules", "cn-ets")
    assert rc == 0
    assert "[art-24] Interim Regulations 2024, Art. 24  (NOT CHECKED against the text)" in out
    assert "shortfall_fine_multiple    clause art-24" in out


def test_position_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compliance", "position", "--company", "north-power", "--year", "2025",
                     "--rules", "cn-ets", "--inputs", str(DATA), "--format", "json", "--multiplier", "6")
    assert rc == 0
    got = json.loads(out)
    assert (got["shortfall_t"], got["surplus_t"], got["holdings"]["total_t"]) == (75_000, 0, 1_025_000)
    fine = next(o for o in got["outcomes"] if o["kind"] == "shortfall_fine_multiple")
    assert fine["amount"] == 6 * 80 * 75_000
    assert fine["clause"] == {"id": "art-24", "cite": "Interim Regulations 2024, Art. 24", "checked": False}
    assert got["totals"] == {"penalties": 36_026_500.0, "bonuses": 0.0, "net": -36_026_500.0,
                             "surplus_value": 0.0}


def test_position_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "compliance", "position", "--company", "south-power", "--year", "2025",
                     "--rules", "cn-ets", "--inputs", str(DATA))
    assert rc == 0
    assert "south-power 2025 under cn-ets (CNY)" in out
    assert "10,000.000 t x 80.00 CNY/t" in out
    assert "penalties 0.00 CNY; bonuses 20,000.00 CNY; net 20,000.00 CNY; surplus value 800,000.00 CNY" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("--rules", "cn-ets", "--multiplier", "11"), "field 'multiplier': must be within [5, 10], got 11"),
    (("--rules", "eu-ets"), "field 'market_prices': no EUR market price for 2025"),
    (("--rules", "mars-ets"), "no rule set 'mars-ets'; shipped: cn-ets, eu-ets"),
])
def test_position_errors_are_one_line_naming_the_field(capsys: pytest.CaptureFixture[str],
                                                       argv: tuple[str, ...], message: str) -> None:
    rc, out, err = run(capsys, "compliance", "position", "--company", "north-power", "--year", "2025",
                       "--inputs", str(DATA), *argv)
    assert rc == 2
    assert out == ""
    assert err.startswith("carbonlab: error: ")
    assert message in err
    assert len(err.splitlines()) == 1


def test_help_imports_nothing_of_apps() -> None:
    probe = ("import sys; from carbonlab.cli import build_parser; build_parser(); "
             "print(sorted(m for m in sys.modules if m.startswith('carbonlab.apps')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("record", "field", "value"), [
    ("allocations", "quantity_t", 1e308), ("market_prices", "price_per_t", 1e308),
    ("statements", "emissions_t", 1e308), ("transfers", "quantity_t", 1e13),
])
def test_absurd_magnitudes_are_refused_not_printed_as_inf(record: str, field: str, value: float,
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(DATA.read_text())
    raw[record][0][field] = value
    bad = tmp_path / "records.json"
    bad.write_text(json.dumps(raw))
    rc, out, err = run(capsys, "compliance", "position", "--company", "north-power", "--year", "2025",
                       "--rules", "cn-ets", "--inputs", str(bad), "--format", "json")
    assert rc == 2
    assert f"field '{record}[0].{field}': must be a number 0.." in err
    assert "inf" not in out.lower()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--gain-multiplier", "-1", "field 'gain_multiplier': must be within [5, 10], got -1"),
    ("--falsification-fine", "1", "field 'falsification_fine': must be within [500000, 2e+06], got 1"),
])
def test_a_parameter_out_of_range_is_refused_even_when_its_term_does_not_apply(
        option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    # north-power 2025 has no falsification finding: the term does not apply, the value is still wrong
    rc, _, err = run(capsys, "compliance", "position", "--company", "north-power", "--year", "2025",
                     "--rules", "cn-ets", "--inputs", str(DATA), option, value)
    assert rc == 2
    assert message in err
