"""ghg-scope1 and eu-mrr on a ledger whose meters carry CH4 and generation: the report's figures
are the structure module's (by gas, CO2e under AR5 and AR6) and the query module's (hours)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.apps.report import cells
from carbonlab.apps.report.build import build
from carbonlab.apps.report.model import Template
from carbonlab.apps.report.sources import LedgerFile
from carbonlab.apps.report.verify import verify
from carbonlab.bench import queryledger
from carbonlab.node.gwp import GwpSet
from carbonlab.node.query import EmissionsFilter, Gas, Level, Period, open_source

HOURS = 240


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gases") / "ledger.sqlite"
    queryledger.build(path, stacks=5, hours=HOURS)
    return path


def _figures(out: Path) -> dict[str, dict[tuple[str, ...], dict[str, float]]]:
    report = json.loads((out / "report.json").read_bytes())
    return {t["name"]: {tuple(r["key"]): dict(zip(t["value_columns"], r["values"], strict=True))
                        for r in t["rows"]} for t in report["tables"]}


@pytest.mark.parametrize("gwp", list(GwpSet))
def test_scope1_by_gas_equals_the_structure_module(ledger: Path, tmp_path: Path, gwp: GwpSet) -> None:
    out = tmp_path / "r"
    source = LedgerFile(ledger)
    try:
        build(source, company="company1", year=2024, template=Template.GHG_SCOPE1, gwp=gwp, out=out)
        genesis = source.genesis
    finally:
        source.close()
    figures = _figures(out)
    since, until = cells.year_bounds(2024)
    with open_source(ledger) as src:
        tree = src.structure(EmissionsFilter(company="company1", since=since, until=until), gwp)
    by_gas = {g.gas: g for g in tree.by_gas}
    assert figures["by_gas"][("ch4",)]["mass_t"] == pytest.approx(by_gas[Gas.CH4].mass_t, rel=1e-12)
    assert figures["by_gas"][("ch4",)]["mass_t"] > 0
    assert figures["by_gas"][("ch4",)]["co2e_t"] == pytest.approx(by_gas[Gas.CH4].co2e_t, rel=1e-12)
    assert figures["by_gas"][("n2o",)]["mass_t"] is None
    assert figures["total"][("total",)]["co2e_t"] == pytest.approx(tree.root.co2e_kg / 1000, rel=1e-12)
    assert verify(out, genesis).ok


def test_eu_mrr_hours_equal_the_query_modules(ledger: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    source = LedgerFile(ledger)
    try:
        build(source, company="company1", year=2024, template=Template.EU_MRR, gwp=GwpSet.AR5, out=out)
        genesis = source.genesis
    finally:
        source.close()
    figures = _figures(out)["cems_sources"]
    since, until = cells.year_bounds(2024)
    with open_source(ledger) as src:
        rows = src.query(EmissionsFilter(company="company1", since=since, until=until),
                         period=Period.YEAR, level=Level.METER).rows
    assert len(rows) == len(figures) == 5
    for row in rows:
        (key,) = [k for k in figures if k[-1] == row.meter]
        f = figures[key]
        assert f["hours_measured"] + f["hours_substituted"] == row.readings == HOURS
        assert f["hours_substituted"] == row.substituted
        assert f["hours_missing"] == row.missing == 366 * 24 - HOURS
        assert f["co2_t"] == pytest.approx(row.co2_kg / 1000, rel=1e-12)
    assert verify(out, genesis).ok
