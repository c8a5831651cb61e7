"""Compliance against an outside tester's hostile rule sets, inputs and parameters: bands that fine
and reward the same measure, a currency that is no currency, a penalty of 1e308, a company name of
100,000 characters, a rule set of 22 MB, an unquoted YAML date. Each is refused naming the field,
or (an unquoted date) read as meant."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.apps.compliance.errors import InputError, RuleSetError
from carbonlab.apps.compliance.model import Basis
from carbonlab.apps.compliance.outcomes import Choices
from carbonlab.apps.compliance.position import position
from carbonlab.apps.compliance.ruleset import MAX_FILE_BYTES, load, load_named, parse
from carbonlab.apps.finite import NonFiniteError, check_finite
from carbonlab.cli import main

from .inputs import inputs
from .test_ruleset_fields import CN, index, term

DATA = Path(__file__).parent / "testdata" / "records.json"
POSITION = ["compliance", "position", "--company", "north-power", "--year", "2025", "--rules", "cn-ets",
            "--inputs", str(DATA)]


def edited(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(CN)
    for (kind, effect), values in changes.items():   # type: ignore[misc]
        next(t for t in raw["terms"] if t["kind"] == kind and t["effect"] == effect).update(values)
    return raw


def test_a_bonus_band_above_the_penalty_band_is_refused() -> None:
    """north-power's 30 % substituted was fined (above 10 %) and rewarded (at or below 50 %)."""
    raw = copy.deepcopy(CN)
    term(raw, "substituted_hours", 1).update(threshold=0.5)          # the bonus: 0.02 -> 0.5
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert info.value.field == f"terms[{index(raw, 'substituted_hours', 1)}].threshold"
    assert "bonus (at or below 0.5) and penalty (above 0.1) both apply" in info.value.problem


def test_thresholds_a_hair_apart_are_printed_apart() -> None:
    """An outsider's re-test: a bonus at 0.1000001 over a penalty at 0.1 said "bonus (at or below
    0.1) and penalty (above 0.1)": `:g` keeps six digits."""
    raw = copy.deepcopy(CN)
    term(raw, "substituted_hours", 1).update(threshold=0.1000001)
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert "bonus (at or below 0.1000001) and penalty (above 0.1) both apply" in info.value.problem


def test_a_late_uploads_bonus_above_its_penalty_is_refused() -> None:
    raw = copy.deepcopy(CN)
    raw["terms"].append({"kind": "late_uploads", "clause": "consortium-data-quality", "effect": "bonus",
                         "threshold": 5, "amount": 1000})
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert info.value.field == f"terms[{len(raw['terms']) - 1}].threshold"


def test_two_penalties_for_one_measure_add_as_tiers_but_not_at_one_threshold() -> None:
    raw = copy.deepcopy(CN)
    second = {**term(raw, "substituted_hours", 0), "threshold": 0.2}
    raw["terms"].append(second)
    rules = parse(raw, "cn-ets.yaml")                     # 10 % and 20 %: a marginal tier, documented
    assert len(rules.terms_of(term_kind := rules.terms[index(raw, "substituted_hours")].kind)) == 3
    assert term_kind.value == "substituted_hours"
    raw["terms"][-1]["threshold"] = 0.1
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert info.value.field == f"terms[{len(raw['terms']) - 1}].threshold"
    assert "a second substituted_hours penalty at threshold 0.1" in info.value.problem


@pytest.mark.parametrize("currency", ["QQQ", "XXX", "cny"])
def test_a_rule_set_currency_must_be_iso_4217(currency: str) -> None:
    raw = {**copy.deepcopy(CN), "currency": currency}
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert info.value.field == "currency"
    assert "must be an ISO 4217 currency code" in info.value.problem


def test_an_unquoted_yaml_date_is_read_as_the_date(tmp_path: Path) -> None:
    path = tmp_path / "cn.yaml"
    raw = copy.deepcopy(CN)
    raw["name"] = "cn"
    text = yaml.safe_dump(raw, allow_unicode=True).replace("as_of: '2026-12-02'", "as_of: 2026-12-02")
    assert "as_of: 2026-12-02\n" in text
    path.write_text(text)
    assert load(path).header.as_of == "2026-12-02"        # was: got datetime.date(2026, 12, 2)


def test_a_huge_rule_set_is_refused_by_size_at_once(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("x: [" + "1, " * (MAX_FILE_BYTES // 3 + 10) + "]\n")   # a 22 MB one took 52 s
    started = time.monotonic()
    with pytest.raises(RuleSetError, match=f"larger than {MAX_FILE_BYTES:,} bytes"):
        load(path)
    assert time.monotonic() - started < 2


def test_an_inputs_file_that_never_ends_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*POSITION[:-1], "/dev/zero"]
    assert main(argv) == 2
    assert "/dev/zero: field '(file)': larger than" in capsys.readouterr().err


def test_a_penalty_of_1e308_is_refused() -> None:
    case = inputs(emissions_t=50_000, allocated_t=40_000, currency="EUR", price=70.0, basis=Basis.CO2E)
    with pytest.raises(InputError) as info:     # printed inf penalties and Infinity (not JSON) before
        position(case, load_named("eu-ets"), Choices(penalty_per_t=1e308))
    assert info.value.field == "penalty_per_t"
    assert info.value.problem == "must be a finite number at most 1e+06, got 1e+308"


def test_a_long_company_is_not_echoed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*POSITION[:2], "--company", "x" * 100_000, *POSITION[4:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err) < 500
    assert "(100000 characters)" in err


def test_a_non_finite_answer_is_refused_naming_its_field() -> None:
    check_finite({"a": [1.0, {"b": 2}], "c": (3.0,)})
    with pytest.raises(NonFiniteError) as info:
        check_finite({"totals": {"penalties": 1.0, "net": float("inf")}}, "position")
    assert info.value.field == "position.totals.net"
    with pytest.raises(NonFiniteError, match=r"^result\[1\]\.x: "):
        check_finite([{"x": 0.0}, {"x": float("nan")}], "result")


def test_a_trade_in_another_currency_leaves_the_year_computable(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(DATA.read_text())
    raw["transfers"][0] = {**raw["transfers"][0], "currency": "EUR"}
    path = tmp_path / "records.json"
    path.write_text(json.dumps(raw))
    assert main([*POSITION[:-1], str(path), "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert len(notes) == 1
    assert "in another currency than the rule set's CNY: its tonnes are counted" in notes[0]


@pytest.mark.parametrize("late", [int("9" * 400), 1_000_001, -1, 2.5, True])
def test_a_late_uploads_count_out_of_range_is_refused_naming_it(tmp_path: Path, late: Any,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An outsider's re-test: 400 nines of late uploads was a traceback (OverflowError: int too
    large to convert to float, in the penalty's comparison); a count is now bounded where it is
    read, as the console's form always bounded it."""
    raw = json.loads(DATA.read_text())
    raw["data_quality"][0]["late_uploads"] = late
    path = tmp_path / "records.json"
    path.write_text(json.dumps(raw))
    assert main([*POSITION[:-1], str(path)]) == 2
    err = capsys.readouterr().err
    assert "field 'data_quality[0].late_uploads': must be an integer 0..1000000, got " in err
    assert len(err) < 300
