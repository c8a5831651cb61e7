"""The templates' columns say what they count. The query module's cells count reading
intervals (`reading_interval_s` of genesis); the eu-mrr template (in the style of the annual
emission report of Regulation (EU) 2018/2066, MRR, Annex X) shows a CEMS source's hours, so its
hours columns are those counts in hours: a year of 5-second intervals is 8,760 h, not 6,307,200."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carbonlab.apps.report import cells, templates
from carbonlab.apps.report.model import Table, Template
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from tests.unit.node.factories import make_kit
from tests.unit.node.query.small_ledger import M1, M3

YEAR = 2023
HOURS = ("hours_measured", "hours_substituted", "hours_expected", "hours_missing")


def _genesis(interval_s: int) -> Genesis:
    genesis = make_kit().genesis
    return replace(genesis, params=replace(genesis.params, reading_interval_s=interval_s))


def _row(table: Table, *key: str) -> dict[str, object]:
    row = next(r for r in table.rows if r.key == key)
    return dict(zip(table.value_columns, row.values, strict=True))


@pytest.mark.parametrize("interval_s", [5, 60])
def test_mrr_annex_x_hours_of_a_cems_source_are_hours(interval_s: int) -> None:
    genesis = _genesis(interval_s)
    cs = cells.from_readings([*M1, *M3], ["m1", "m3"], YEAR, interval_s)
    tables = {t.name: t for t in templates.tables(Template.EU_MRR, genesis, cs, GwpSet.AR5, None)}
    h = interval_s / 3600
    m1 = _row(tables["cems_sources"], "plant1", "unit1", "stack1", "m1")
    # m1: 5 readings in the year, 1 of them substituted
    assert m1["hours_expected"] == 8760                   # 365 days of 24 h, whatever the interval
    assert m1["hours_measured"] == pytest.approx(4 * h, rel=1e-12)
    assert m1["hours_substituted"] == pytest.approx(1 * h, rel=1e-12)
    assert m1["hours_missing"] == pytest.approx(8760 - 5 * h, rel=1e-12)
    total = _row(tables["total"], "total")
    assert total["hours_expected"] == 2 * 8760
    assert sum(total[c] for c in ("hours_measured", "hours_substituted", "hours_missing")) == \
        pytest.approx(total["hours_expected"], rel=1e-12)
    notes = " ".join(templates.notes(Template.EU_MRR, GwpSet.AR5, interval_s))
    assert f"one reading per {interval_s}-second interval" in notes
    assert "an hour the CEMS could not measure" not in notes


@pytest.mark.parametrize("template", [Template.CN_POWER, Template.GHG_SCOPE1])
def test_the_other_templates_name_counts_of_readings_as_readings(template: Template) -> None:
    genesis = _genesis(5)
    cs = cells.from_readings([*M1, *M3], ["m1", "m3"], YEAR, 5)
    tables = templates.tables(template, genesis, cs, GwpSet.AR5, None)
    assert not [(t.name, c) for t in tables for c in t.value_columns if "hour" in c]
    total = next(t for t in tables if t.name == "total")
    assert _row(total, "total")["readings"] == len(M1) + len(M3)      # readings, not intervals
