"""A rejection's field is data on the ledger (`batches.field`), also for ledgers written before
the column existed (NULL there: the detail names the field, and verification still passes)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from carbonlab.node.decision import DecisionStatus
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from tests.unit.node.factories import Kit, make_kit

FIELD = "batch.readings[0].co2_kg"


def _commit_mismatch(kit: Kit, ledger: Ledger) -> int:
    """Commit a block whose only batch (gw1) has a wrong CO2 mass; return its batch_seq."""
    good = kit.next_batch("gw1")
    bad = kit.batch("gw1", good.batch_seq, (replace(good.readings[0], co2_kg=1.0), *good.readings[1:]))
    block = ledger.commit(*kit.certified(ledger.height + 1, [bad.encode()]))
    assert block.verdicts[0].field == FIELD
    kit.batch_seq["gw1"] = good.batch_seq - 1   # the contract did not take it: reuse the number
    return bad.batch_seq


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


def test_the_field_of_a_rejection_is_read_from_its_column_not_the_detail(tmp_path: Path) -> None:
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        seq = _commit_mismatch(kit, ledger)
    # reword the detail: a reader that recovered the field from the text would now say "batch"
    _sql(path, "UPDATE batches SET detail = 'the mass is wrong' WHERE accepted = 0")
    with Ledger.open_readonly(path, kit.genesis) as ledger:
        status = ledger.batch_status("gw1", seq)
        assert status is not None
        assert (status.status, status.field) == (DecisionStatus.REJECTED, FIELD)
        assert [r.field for r in ledger.rejections()] == [FIELD]
        block = ledger.block(1)
        assert block is not None
        assert block.verdicts[0].field == FIELD


def test_verify_reports_a_stored_field_the_contract_does_not_name(tmp_path: Path) -> None:
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        _commit_mismatch(kit, ledger)
    assert verify_ledger(path, kit.genesis).problems == []
    _sql(path, "UPDATE batches SET field = 'batch.readings[0].co2_pct' WHERE accepted = 0")
    problems = verify_ledger(path, kit.genesis).problems
    assert any(p.startswith("height 1: batch 0 (gw1/") and "verdict details differ" in p
               for p in problems), problems


def test_a_ledger_written_before_the_field_column_stays_readable_and_verifiable(
        tmp_path: Path) -> None:
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        old_seq = _commit_mismatch(kit, ledger)
    _sql(path, "ALTER TABLE batches DROP COLUMN field")   # the file as the previous release wrote it
    assert verify_ledger(path, kit.genesis).problems == []
    with Ledger.open_readonly(path, kit.genesis) as ledger:   # read-only: no column added
        status = ledger.batch_status("gw1", old_seq)
        assert status is not None
        assert status.field == FIELD              # from the detail: the row predates the column
        assert [r.field for r in ledger.rejections()] == [FIELD]
        block = ledger.block(1)
        assert block is not None
        assert block.verdicts[0].field == FIELD
    with Ledger.open(path, kit.genesis) as ledger:            # a writer adds the column
        ledger.commit(*kit.certified(2, [kit.next_batch("gw2").encode()]))
        new_seq = _commit_mismatch(kit, ledger)
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT batch_seq, field FROM batches WHERE accepted = 0 "
                          "ORDER BY height").fetchall()
    finally:
        db.close()
    assert rows == [(old_seq, None), (new_seq, FIELD)]
    assert verify_ledger(path, kit.genesis).problems == []
