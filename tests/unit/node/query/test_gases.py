"""CH4, N2O and unit load through the query and structure modules; CO2e by the GWP set named;
a ledger written before those columns (or the day table) still answers; verify guards the
day table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.model import Reading
from carbonlab.node.query import EmissionsFilter, Gas, Level, Period, open_source
from tests.unit.node.factories import Kit, make_kit, make_reading, with_channels
from tests.unit.node.query.small_ledger import D

CHANNELS = {"gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 500.0]},
                      "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 100.0]}},
            "load": {"gross_mw": [0.0, 700.0], "heat_input_mw": [0.0, 1800.0]}}
M1 = [with_channels(make_reading("m1", i + 1, D + 60 * i, co2_pct=10.0 + i),
                    ch4=(12.0 + i, "ppm", "dry"), n2o=(4.5, "mg/m3", "wet"), gross_mw=300.0,
                    heat_mw=750.0) for i in range(3)]
M3 = [make_reading("m3", 1, D, co2_pct=8.0)]   # a meter without the new channels


def build(path: Path) -> Kit:
    kit = make_kit(meters={"m1": CHANNELS, "m2": CHANNELS})
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [kit.batch("gw1", 1, M1).encode(),
                                         kit.batch("gw2", 1, M3).encode()]))
    return kit


def total(readings: list[Reading], name: str) -> float:
    return sum(getattr(r, name) for r in readings)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    build(tmp_path / "l.db")
    return tmp_path / "l.db"


def test_query_sums_each_gas_and_the_load(path: Path) -> None:
    with open_source(path) as src:
        m1, m3 = src.query(EmissionsFilter(), period=Period.DAY, level=Level.METER).rows
    assert m1.ch4_kg == pytest.approx(total(M1, "ch4_kg"), rel=1e-12)
    assert m1.n2o_kg == pytest.approx(total(M1, "n2o_kg"), rel=1e-12)
    assert m1.gross_mwh == pytest.approx(3 * 300.0 / 60, rel=1e-12)   # 300 MW for 3 minutes
    assert m1.heat_input_gj == pytest.approx(3 * 750.0 * 60 / 1000, rel=1e-12)
    assert m3.ch4_kg is None   # not measured is not zero
    assert m3.co2_kg == pytest.approx(M3[0].co2_kg, rel=1e-12)


@pytest.mark.parametrize(("gwp", "ch4", "n2o"), [(GwpSet.AR5, 28.0, 265.0), (GwpSet.AR6, 29.8, 273.0)])
def test_structure_co2e_by_the_named_set_and_intensity(path: Path, gwp: GwpSet, ch4: float,
                                                       n2o: float) -> None:
    with open_source(path) as src:
        res = src.structure(EmissionsFilter(), gwp)
    co2 = total(M1, "co2_kg") + M3[0].co2_kg
    e_ch4, e_n2o = total(M1, "ch4_kg") * ch4, total(M1, "n2o_kg") * n2o
    assert res.root.co2e_kg == pytest.approx(co2 + e_ch4 + e_n2o, rel=1e-12)
    shares = {g.gas: g for g in res.by_gas}
    assert shares[Gas.CH4].co2e_t == pytest.approx(e_ch4 / 1000, rel=1e-12)
    assert sum(g.share for g in res.by_gas) == pytest.approx(1.0)
    unit1 = res.root.children[0].children[0].children[0]
    assert unit1.name == "unit1"
    assert unit1.intensity_t_per_mwh == pytest.approx(total(M1, "co2_kg") / 1000 / (3 * 300 / 60),
                                                      rel=1e-12)


def test_a_file_from_before_the_new_columns_and_the_day_table_still_answers(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TABLE reading_days")
    db.execute("DELETE FROM meta WHERE key = 'aggregates'")
    for name in ("ch4_kg", "n2o_kg", "gross_mwh", "heat_input_gj"):
        db.execute(f"ALTER TABLE readings DROP COLUMN {name}")
    db.commit()
    db.close()
    with open_source(path) as src:
        rows = src.query(EmissionsFilter(), period=Period.DAY, level=Level.ALL).rows
    assert rows[0].co2_kg == pytest.approx(total(M1, "co2_kg") + M3[0].co2_kg, rel=1e-12)
    assert rows[0].ch4_kg is None
    assert rows[0].readings == 4


def test_verify_finds_a_changed_day_sum(path: Path, tmp_path: Path) -> None:
    kit = make_kit(meters={"m1": CHANNELS, "m2": CHANNELS})
    assert verify_ledger(path, kit.genesis).problems == []
    db = sqlite3.connect(path)
    db.execute("UPDATE reading_days SET co2_kg = co2_kg * 0.9 WHERE meter_id = 'm1'")
    db.commit()
    db.close()
    problems = verify_ledger(path, kit.genesis).problems
    assert len(problems) == 1
    assert "reading_days row m1" in problems[0]
