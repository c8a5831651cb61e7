"""Ledgers and wire version 2: a file written before the CH4/N2O/load columns existed still
verifies and answers queries (NULL there), and a writer migrates it and adds version-2
readings that verify too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.model import Batch
from tests.unit.node.factories import Kit, make_kit, with_channels

NEW = ("ch4_kg", "n2o_kg", "gross_mwh", "heat_input_gj")
CHANNELS = {"gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 500.0]},
                      "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 100.0]}},
            "load": {"gross_mw": [0.0, 700.0], "heat_input_mw": [0.0, 1800.0]}}


def v2_batch(kit: Kit, gateway: str = "gw1") -> Batch:
    plain = kit.next_batch(gateway)
    readings = tuple(with_channels(r, ch4=(12.0, "ppm", "dry"), n2o=(4.5, "mg/m3", "wet"),
                                   gross_mw=300.0, heat_mw=750.0) for r in plain.readings)
    return kit.batch(gateway, plain.batch_seq, readings)


def columns(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[1] for row in db.execute("PRAGMA table_info(readings)")]
    finally:
        db.close()


def test_an_old_ledger_verifies_answers_and_takes_version_2_readings(tmp_path: Path) -> None:
    # m1 and m2 (gw1) report CO2 only, as every meter did before version 2; m3 (gw2) has channels
    kit = make_kit(meters={"m3": CHANNELS})
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [kit.next_batch("gw1").encode()]))
        before = ledger.emissions(group_by="meter")
    # the file as the code before version 2 wrote it: no such columns at all
    db = sqlite3.connect(path)
    for name in NEW:
        db.execute(f"ALTER TABLE readings DROP COLUMN {name}")
    db.commit()
    db.close()
    assert not set(NEW) & set(columns(path))
    assert verify_ledger(path, kit.genesis).problems == []
    kit.genesis.save(tmp_path / "genesis.json")
    assert main(["ledger", "verify", str(path), "--genesis", str(tmp_path / "genesis.json")]) == 0
    with Ledger.open_readonly(path, kit.genesis) as ledger:     # read-only: nothing added
        rows = ledger.readings()
        assert rows
        assert all(r[name] is None for r in rows for name in NEW)
        assert ledger.emissions(group_by="meter") == before
    assert not set(NEW) & set(columns(path))
    with Ledger.open(path, kit.genesis) as ledger:              # a writer migrates the file
        ledger.commit(*kit.certified(2, [kit.next_batch("gw1").encode(),
                                         v2_batch(kit, "gw2").encode()]))
        rows = ledger.readings()
    assert columns(path)[-4:] == list(NEW)
    assert sorted((r["meter_id"], r["ch4_kg"] is None) for r in rows) == [
        ("m1", True), ("m1", True), ("m2", True), ("m2", True), ("m3", False)]
    new = [r for r in rows if r["ch4_kg"] is not None]
    assert all(r["gross_mwh"] == 5.0 and r["heat_input_gj"] == 45.0 for r in new)
    assert verify_ledger(path, kit.genesis).problems == []
    assert main(["ledger", "verify", str(path), "--genesis", str(tmp_path / "genesis.json")]) == 0


def test_a_changed_version_2_column_is_found_by_verify(tmp_path: Path) -> None:
    kit = make_kit(meters={"m1": CHANNELS, "m2": CHANNELS})
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [v2_batch(kit).encode()]))
    db = sqlite3.connect(path)
    db.execute("UPDATE readings SET ch4_kg = ch4_kg / 2 WHERE meter_id = 'm1'")
    db.commit()
    db.close()
    problems = verify_ledger(path, kit.genesis).problems
    assert len(problems) == 1
    assert "reading m1/1 in the readings table differs: ch4_kg" in problems[0]
