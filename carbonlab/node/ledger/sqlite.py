"""Opening the SQLite file: pragmas, schema, block 0, and the genesis check.

Columns added after the first ledgers were written (`LEGACY_COLUMNS`) are added to an
older file when a writer opens it (NULL in old rows: the readers know what NULL means
there); a read-only connection to an older file sees them through a temporary view of
the same name, NULL in every row, so one set of queries serves both.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import aggregate
from carbonlab.node.ledger.errors import LedgerError, LedgerFileError
from carbonlab.node.ledger.readfile import open_readonly
from carbonlab.node.ledger.rows import genesis_record
from carbonlab.node.ledger.stored import text
from carbonlab.node.ledger.tables import ALLOWANCE_COLUMNS, FORMAT, SCHEMA, SCHEMA_VERSION

PAGE_SIZE = 8192


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A writer's connection (the file and its directory are made if absent), or with
    `readonly` one that writes nothing (`readfile.open_readonly`)."""
    if readonly:
        db: sqlite3.Connection = open_readonly(path)
        try:
            _legacy_views(db, path)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise LedgerFileError(path, f"cannot open as a ledger ({exc})") from None
        except BaseException:
            db.close()
            raise
        return db
    if path.is_dir():
        raise LedgerFileError(path, "is a directory, not a ledger file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.text_factory = text
        # 8 KiB pages for a new file (an existing one keeps its own): a 20-reading batch's
        # row (about 2.6 kB) left most of a 4 KiB page empty; 18 % fewer bytes per reading,
        # queries and verify unchanged (docs/performance.md, "Growth")
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=10000")
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(path, f"cannot open as a ledger ({exc})") from None
    return db


# table -> (column, SQL type) added since format carbonlab-ledger/1 was first written
LEGACY_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "batches": (("field", "TEXT"),),
    # wire version 2's channels (docs/ledger.md): NULL in the rows of older readings, which is
    # what a version-1 reading holds anyway, so an old file needs no rewrite to verify
    "readings": (("ch4_kg", "REAL"), ("n2o_kg", "REAL"), ("gross_mwh", "REAL"),
                 ("heat_input_gj", "REAL")),
}


def _missing_columns(db: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    have = {row[1] for row in db.execute(f"PRAGMA main.table_info({table})")}
    return [c for c in LEGACY_COLUMNS[table] if have and c[0] not in have]


# tables a ledger of any schema has (a schema-1 file lacks allowance_records, an older one
# reading_days: both are handled below and in aggregate.present)
REQUIRED_TABLES = ("meta", "blocks", "batches", "readings", "meters", "gateway_state", "meter_state",
                   "checkpoints", "consensus_records")


def _legacy_views(db: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
    if tables and "meta" not in tables:
        raise LedgerFileError(path, "an SQLite file, but not a carbonlab ledger")
    absent = [t for t in REQUIRED_TABLES if tables and t not in tables]
    if absent:
        raise LedgerFileError(path, f"not a whole ledger: table{'s' * (len(absent) > 1)} "
                                    f"{', '.join(absent)} missing (dropped by hand?)")
    if tables and "allowance_records" not in tables:
        # a schema-1 file opened read-only: it holds no records; an empty table of the same name
        db.execute(f"CREATE TEMP TABLE allowance_records ({', '.join(ALLOWANCE_COLUMNS)})")
    for table in LEGACY_COLUMNS:
        missing = _missing_columns(db, table)
        if missing:   # a temp object shadows main's table of the same name in unqualified queries
            extra = ", ".join(f"NULL AS {name}" for name, _ in missing)
            db.execute(f"CREATE TEMP VIEW {table} AS SELECT *, {extra} FROM main.{table}")


def _add_legacy_columns(db: sqlite3.Connection) -> None:
    for table in LEGACY_COLUMNS:
        for name, sql_type in _missing_columns(db, table):
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")


def genesis_meters(db: sqlite3.Connection, genesis: Genesis) -> None:
    """Fill this connection's own `temp.genesis_meters` (company, plant, unit, stack per
    meter) from the genesis in hand. Queries join it, not the file's `meters` table: a
    temporary table lives in this connection only, so no edit of the file can move a
    meter to another company in what the node serves."""
    db.execute("DROP TABLE IF EXISTS temp.genesis_meters")
    db.execute("CREATE TEMP TABLE genesis_meters (meter_id TEXT PRIMARY KEY, company TEXT NOT NULL, "
               "plant TEXT NOT NULL, unit TEXT NOT NULL, stack TEXT NOT NULL)")
    db.executemany("INSERT INTO temp.genesis_meters VALUES (?, ?, ?, ?, ?)",
                   [(m.id, m.company, m.plant, m.unit, m.stack) for m in genesis.meters])


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE, then COMMIT (durable when the block ends), or
    ROLLBACK on any exception, a cancellation included, which then propagates."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def check_schema(meta: dict[str, Any], path: Path) -> None:
    """Refuse a ledger a newer carbonlab wrote (its schema above this one's): this code would
    misread it, and opening it for writing would mark it with the older schema. A missing marker
    is schema 1; an unreadable one is this code's to set again, as it always did. The marker is
    a blob; a hand-edited file may hold it as text or a number."""
    value = meta.get("schema")
    try:
        found = int(value.decode("ascii") if isinstance(value, bytes) else str(value))
    except (ValueError, UnicodeDecodeError):
        return
    if found > int(SCHEMA_VERSION):
        raise LedgerError(f"{path}: written by a newer carbonlab (ledger schema {found}; this one knows "
                          f"schema {SCHEMA_VERSION.decode()} and older): open it with that version")


def prepare(db: sqlite3.Connection, path: Path, genesis: Genesis) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "meta" not in tables:
        raise LedgerError(f"{path}: an SQLite file, but not a carbonlab ledger")
    if tables:              # before anything is created, filled or marked in the file
        check_schema(dict(db.execute("SELECT key, value FROM meta").fetchall()), path)
    with transaction(db):
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        intact = aggregate.present(db)
        if not intact:   # absent, or cut down by hand: made again and filled below
            db.execute("DROP TABLE IF EXISTS reading_days")
        db.execute(aggregate.SCHEMA)
        _add_legacy_columns(db)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("aggregates") != aggregate.MARKER or not intact:
            # a new file, one written before the table, or one whose table was dropped or
            # lost a column (the CREATE above made it anew): sum its readings
            aggregate.fill(db)
        if not meta:
            record = genesis_record(genesis)
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("format", FORMAT), ("genesis_hash", genesis.hash),
                ("chain_id", genesis.chain_id.encode()),
                ("genesis_json", json.dumps(genesis.to_json(), indent=2).encode())])
            db.execute("INSERT INTO blocks (height, hash, header, certificate, timestamp_ms, proposer,"
                       " batch_count, reading_count) VALUES (0, ?, ?, NULL, 0, '', 0, 0)",
                       (genesis.hash, record))
            db.executemany("INSERT INTO meters (meter_id, company, plant, unit, stack) "
                           "VALUES (?, ?, ?, ?, ?)",
                           [(m.id, m.company, m.plant, m.unit, m.stack) for m in genesis.meters])
        elif meta.get("format") != FORMAT:
            raise LedgerError(f"{path}: not a carbonlab ledger of format {FORMAT.decode()}")
        elif meta.get("genesis_hash") != genesis.hash:
            raise LedgerError(f"{path}: made for genesis {bytes(meta['genesis_hash']).hex()[:16]}..., "
                              f"not this genesis {genesis.hash.hex()[:16]}...")
        # schema 1 -> 2 needs only the CREATE above: a schema-1 file holds no record requests
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
