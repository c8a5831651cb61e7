"""One write transaction for the whole ledger (`sqlite.transaction`): opening a ledger and
committing a block both use it, so both are all-or-nothing on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carbonlab.node.ledger import Ledger, LedgerError
from carbonlab.node.ledger.sqlite import connect, prepare, transaction
from tests.unit.node.factories import make_kit


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM t").fetchone()[0])


def _insert_then_fail(db: sqlite3.Connection, x: int, exc: BaseException) -> None:
    with transaction(db) as tx:
        tx.execute("INSERT INTO t VALUES (?)", (x,))
        raise exc


def test_a_transaction_commits_or_rolls_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = connect(path)
    try:
        db.execute("CREATE TABLE t (x INTEGER)")
        with transaction(db) as tx:
            tx.execute("INSERT INTO t VALUES (1)")
            tx.execute("INSERT INTO t VALUES (2)")
        assert _rows(path) == 2
        with pytest.raises(RuntimeError):
            _insert_then_fail(db, 3, RuntimeError("half way"))
        with pytest.raises(KeyboardInterrupt):   # a cancellation too
            _insert_then_fail(db, 4, KeyboardInterrupt())
        assert _rows(path) == 2
        assert not db.in_transaction
    finally:
        db.close()


def test_preparing_a_file_of_another_genesis_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first, other = make_kit(), make_kit(chain_id="another-chain")
    Ledger.open(path, first.genesis).close()
    db = connect(path)
    try:
        with pytest.raises(LedgerError, match="made for genesis"):
            prepare(db, path, other.genesis)
        assert not db.in_transaction
    finally:
        db.close()
    with Ledger.open(path, first.genesis) as ledger:   # still the first genesis's ledger
        assert ledger.height == 0
