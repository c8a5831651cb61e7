"""The structure module on the hand-built ledger: the tree, shares, CO2e, change, measured share."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.node.gwp import GwpSet
from carbonlab.node.query import EmissionsFilter, StructureResult, open_source
from tests.unit.node.query.small_ledger import M1, M3, D, build, kg


@pytest.fixture
def path(tmp_path: Path) -> Path:
    build(tmp_path / "l.db")
    return tmp_path / "l.db"


def test_tree_totals_shares_and_measured_share(path: Path) -> None:
    with open_source(path) as src:
        res = src.structure(EmissionsFilter(), GwpSet.AR6)
    root = res.root
    assert (res.since, res.until) == (D, D + 86_460)
    assert root.totals.co2_kg == pytest.approx(kg(*M1, *M3), rel=1e-12)
    assert root.co2e_kg == pytest.approx(kg(*M1, *M3), rel=1e-12)   # no CH4/N2O carried
    assert [c.name for c in root.children] == ["acme", "globex"]
    acme, globex = root.children
    assert [p.name for p in acme.children] == ["plant1", "plant2"]
    plant1, plant2 = acme.children
    assert plant1.children[0].name == "unit1"
    stack1 = plant1.children[0].children[0]
    assert (stack1.level, stack1.name) == ("stack", "stack1")
    assert stack1.totals.co2_kg == pytest.approx(kg(*M1), rel=1e-12)
    assert stack1.share == pytest.approx(kg(*M1) / kg(*M1, *M3), rel=1e-12)
    assert plant2.share == pytest.approx(kg(*M3) / kg(*M1, *M3), rel=1e-12)
    assert stack1.measured_share == pytest.approx(4 / 5)
    assert globex.totals.readings == 0
    assert globex.measured_share is None
    assert globex.share == 0.0
    assert stack1.intensity_t_per_mwh is None   # these readings carry no MWh
    assert res.previous_since == D - 86_460
    assert root.change is None   # nothing before D


def test_change_against_the_previous_period_of_the_same_length(path: Path) -> None:
    # [D+60, D+120) against [D, D+60): m1 11 % vs 10 %, m3 8.5 % vs 8 %
    with open_source(path) as src:
        res = src.structure(EmissionsFilter(since=D + 60, until=D + 120), GwpSet.AR5)
    now, before = kg(M1[1], M3[1]), kg(M1[0], M3[0])
    assert res.root.co2e_kg == pytest.approx(now, rel=1e-12)
    assert res.root.previous_co2e_kg == pytest.approx(before, rel=1e-12)
    assert res.root.change == pytest.approx((now - before) / before, rel=1e-9)


def test_json_round_trip(path: Path) -> None:
    with open_source(path) as src:
        res = src.structure(EmissionsFilter(company="acme"), GwpSet.AR5)
    back = StructureResult.from_json(res.to_json())
    assert [c.name for c in back.root.children] == [c.name for c in res.root.children] == ["acme"]
    assert back.root.totals.readings == res.root.totals.readings == 7
    assert back.root.co2e_kg == pytest.approx(res.root.co2e_kg, rel=1e-12)
