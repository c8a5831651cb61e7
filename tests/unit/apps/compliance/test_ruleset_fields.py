"""A rule set with a missing, malformed or contradictory field is refused, naming the field.

Each case edits a copy of the shipped cn-ets (or eu-ets) file as data, so the rest of the file
stays valid and the refusal can only come from the one change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.apps.compliance.errors import RuleSetError
from carbonlab.apps.compliance.ruleset import load, load_named, parse, shipped

Raw = dict[str, Any]


def raw_of(name: str) -> Raw:
    folder = resources.files("carbonlab.apps.compliance").joinpath("rulesets")
    text = folder.joinpath(f"{name}.yaml").read_text("utf-8")
    data: Raw = yaml.safe_load(text)
    return data


CN, EU = raw_of("cn-ets"), raw_of("eu-ets")


def term(raw: Raw, kind: str, n: int = 0) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in raw["terms"] if t["kind"] == kind]
    return found[n]


def index(raw: Raw, kind: str, n: int = 0) -> int:
    return [i for i, t in enumerate(raw["terms"]) if t["kind"] == kind][n]


def _set(which: str, /, **changes: Any) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        term(raw, which).update(changes)
    return edit


def _drop(kind: str, key: str) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        del term(raw, kind)[key]
    return edit


def _top(key: str, value: Any) -> Callable[[Raw], None]:
    def edit(raw: Raw) -> None:
        if value is None:
            del raw[key]
        else:
            raw[key] = value
    return edit


def _second_clause_id(raw: Raw) -> None:
    raw["clauses"][1]["id"] = raw["clauses"][0]["id"]


def _unchecked_without_note(raw: Raw) -> None:
    raw["clauses"][0]["note"] = "  "


def _no_shortfall(raw: Raw) -> None:
    raw["terms"] = [t for t in raw["terms"] if not t["kind"].startswith("shortfall_fine")]


def _two_shortfalls(raw: Raw) -> None:
    raw["terms"].append(copy.deepcopy(term(raw, "shortfall_fine_multiple")))


def _term_not_a_table(raw: Raw) -> None:
    raw["terms"][0] = "fine"


SF = "shortfall_fine_multiple"
SFI = index(CN, SF)
DQ = index(CN, "substituted_hours")
FF = index(CN, "falsification_fine")

CN_CASES: list[tuple[str, Callable[[Raw], None], str, str]] = [
    ("multiplier min above max", _set(SF, multiplier_min=11), f"terms[{SFI}].multiplier_min", "above"),
    ("default outside range", _set(SF, multiplier_default=12), f"terms[{SFI}].multiplier_default", "outside"),
    ("negative multiplier", _set(SF, multiplier_min=-1), f"terms[{SFI}].multiplier_min", "0..100"),
    ("penalty without clause", _drop(SF, "clause"), f"terms[{SFI}].clause", "is required"),
    ("clause not in the file", _set(SF, clause="art-99"), f"terms[{SFI}].clause", "no clause 'art-99'"),
    ("unknown term kind", _set(SF, kind="public_shaming"), f"terms[{SFI}].kind", "unknown term kind"),
    ("missing term kind", _drop(SF, "kind"), f"terms[{SFI}].kind", "is required"),
    ("unknown field in a term", _set(SF, multiplyer=5), f"terms[{SFI}].multiplyer", "unknown field"),
    ("price basis missing", _drop(SF, "price_basis"), f"terms[{SFI}].price_basis", "is required"),
    ("falsification amounts inverted", _set("falsification_fine", amount_min=3_000_000),
     f"terms[{FF}].amount_min", "above"),
    ("allocation cut above 100 %", _set("falsification_fine", allocation_cut_max=1.5),
     f"terms[{FF}].allocation_cut_max", "0..1"),
    ("data-quality term that does nothing", _set("substituted_hours", per_unit=0, amount=0),
     f"terms[{DQ}].amount", "does nothing"),
    ("substituted share above 1", _set("substituted_hours", threshold=10), f"terms[{DQ}].threshold", "0..1"),
    ("data-quality effect not penalty or bonus", _set("substituted_hours", effect="asset"),
     f"terms[{DQ}].effect", "penalty or bonus"),
    ("data-quality effect unknown", _set("substituted_hours", effect="reward"), f"terms[{DQ}].effect",
     "must be one of"),
    ("no currency", _top("currency", None), "currency", "is required"),
    ("as_of not a date", _top("as_of", "last spring"), "as_of", "YYYY-MM-DD"),
    ("currency not ISO 4217", _top("currency", "yuan"), "currency", "ISO 4217"),
    ("unknown emissions basis", _top("emissions_basis", "co3"), "emissions_basis",
     "must be one of co2, co2e"),
    ("unknown top-level field", _top("penalties", []), "penalties", "unknown field"),
    ("no clauses", _top("clauses", None), "clauses", "is required"),
    ("empty terms", _top("terms", []), "terms", "non-empty list"),
    ("clause id twice", _second_clause_id, "clauses[1].id", "given twice"),
    ("unchecked clause without a note", _unchecked_without_note, "clauses[0].note", "could not be checked"),
    ("no shortfall term", _no_shortfall, "terms", "what a shortfall costs"),
    ("two shortfall terms", _two_shortfalls, f"terms[{len(CN['terms'])}].kind", "second shortfall"),
    ("a term that is not a table", _term_not_a_table, "terms[0]", "must be a table"),
]


@pytest.mark.parametrize(("edit", "field", "problem"), [c[1:] for c in CN_CASES],
                         ids=[c[0] for c in CN_CASES])
def test_malformed_cn_ets_field_is_refused_by_name(edit: Callable[[Raw], None], field: str,
                                                   problem: str) -> None:
    raw = copy.deepcopy(CN)
    edit(raw)
    with pytest.raises(RuleSetError) as info:
        parse(raw, "cn-ets.yaml")
    assert (info.value.file, info.value.field) == ("cn-ets.yaml", field)
    assert problem in info.value.problem
    assert str(info.value).startswith(f"cn-ets.yaml: field {field!r}: ")


PT = "shortfall_fine_per_tonne"
PTI = index(EU, PT)
EU_CASES: list[tuple[str, Callable[[Raw], None], str, str]] = [
    ("indexed year twice",
     _set(PT, indexed_per_t=[{"year": 2025, "per_t": 120}, {"year": 2025, "per_t": 121}]),
     f"terms[{PTI}].indexed_per_t[1].year", "given twice"),
    ("indexed figure without its clause",
     _set(PT, index_clause=None, indexed_per_t=[{"year": 2025, "per_t": 1}]),
     f"terms[{PTI}].index_clause", "is required"),
    ("indexed figure negative", _set(PT, indexed_per_t=[{"year": 2025, "per_t": -1}]),
     f"terms[{PTI}].indexed_per_t[0].per_t", "0..1000000"),
    ("index clause not in the file", _set(PT, index_clause="art-99"), f"terms[{PTI}].index_clause", "art-99"),
    ("base penalty missing", _drop(PT, "base_per_t"), f"terms[{PTI}].base_per_t", "is required"),
]


@pytest.mark.parametrize(("edit", "field", "problem"), [c[1:] for c in EU_CASES],
                         ids=[c[0] for c in EU_CASES])
def test_malformed_eu_ets_field_is_refused_by_name(edit: Callable[[Raw], None], field: str,
                                                   problem: str) -> None:
    raw = copy.deepcopy(EU)
    edit(raw)
    with pytest.raises(RuleSetError) as info:
        parse(raw, "eu-ets.yaml")
    assert info.value.field == field
    assert problem in info.value.problem


def test_an_indexed_figure_in_the_file_is_used_for_its_year() -> None:
    from carbonlab.apps.compliance.model import Basis
    from carbonlab.apps.compliance.position import position

    from .inputs import inputs

    raw = copy.deepcopy(EU)
    term(raw, PT)["indexed_per_t"] = [{"year": 2025, "per_t": 110.0}]
    rules = parse(raw, "eu-ets.yaml")
    case = inputs(emissions_t=1_010, allocated_t=1_000, currency="EUR", price=70.0, basis=Basis.CO2E)
    p = position(case, rules)
    fine = next(o for o in p.outcomes if o.kind.value == PT)
    assert fine.amount == 1_100.0
    assert "2025 indexed figure from the rule set" in fine.note


def test_the_shipped_rule_sets_load_and_cite_a_clause_for_every_term() -> None:
    assert shipped() == ("cn-ets", "eu-ets")
    for name in shipped():
        rules = load_named(name)
        ids = {c.id for c in rules.clauses}
        assert all(t.clause in ids for t in rules.terms)
        assert all(c.checked or c.note for c in rules.clauses)


def test_a_key_given_twice_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("name: twice\nname: again\n")
    with pytest.raises(RuleSetError) as info:
        load(path)
    assert info.value.field == "name"
    assert "given twice" in info.value.problem


def test_a_file_that_is_not_yaml_or_not_there_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RuleSetError) as info:
        load(bad)
    assert info.value.field == "(file)"
    assert "not valid YAML" in info.value.problem
    with pytest.raises(RuleSetError) as info:
        load(tmp_path / "absent.yaml")
    assert "cannot read" in info.value.problem


def test_an_unknown_rule_set_name_lists_the_shipped_ones() -> None:
    with pytest.raises(RuleSetError) as info:
        load_named("us-rggi")
    assert "cn-ets, eu-ets" in info.value.problem


def test_a_rule_set_file_by_path_reads_the_same_way(tmp_path: Path) -> None:
    raw = copy.deepcopy(CN)
    raw["name"] = "cn-ets-local"
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    assert load_named(str(path)).name == "cn-ets-local"
