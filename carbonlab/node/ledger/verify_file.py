"""`ledger verify`'s checks of the SQLite file under the tables: its b-trees and indexes, and
the readings counted in ways that do not share an access path with the walk.

Why. The walk reads rows through SQLite's indexes (a block's readings by `readings_by_block`)
and queries answer through others (`readings_by_meter_time`, `readings_by_time`). An index
that no longer matches its table -- a damaged page, or one rebuilt by hand with fewer rows
under its original definition (`writable_schema`) -- makes queries answer wrongly while every
row the walk compares is right. So verify runs `PRAGMA integrity_check` (every page, every
index entry against its row: about 1.6 us per reading, 0.16 s for 100,000 readings,
docs/ledger.md) and compares the number of readings the certified batches hold with the
readings table counted by the planner's index and by a scan of the table itself.
"""

from __future__ import annotations

import sqlite3

MAX_LINES = 100


def integrity_problems(db: sqlite3.Connection) -> list[str]:
    """SQLite's own lines (`row 5 missing from index readings_by_meter_time`), or []. A page
    so damaged that the check itself stops ("database disk image is malformed") is looked for
    table by table, so the line names the table it is under."""
    try:
        return _lines(db, "")
    except sqlite3.DatabaseError as exc:
        stopped = str(exc)
    tables = [r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                                       "ORDER BY name")]
    out = []
    for table in tables:
        try:
            out += _lines(db, table)
        except sqlite3.DatabaseError as exc:
            out.append(f"SQLite integrity_check: table {table} or one of its indexes: {exc}")
    return out or [f"SQLite integrity_check: {stopped}"]


def _lines(db: sqlite3.Connection, table: str) -> list[str]:
    arg = _quoted(table) if table else str(MAX_LINES)
    found = [str(r[0]) for r in db.execute(f"PRAGMA main.integrity_check({arg})")]
    if found == ["ok"]:
        return []
    lines = [line for text in found for line in text.splitlines()
             if line.strip() and not line.startswith("*** in database")]
    return [f"SQLite integrity_check: {line}" for line in lines[:MAX_LINES]]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_problems(db: sqlite3.Connection, certified: int) -> list[str]:
    """The readings table must hold as many rows as the certified batches hold accepted
    readings, however it is counted."""
    by_index = int(db.execute("SELECT COUNT(*) FROM main.readings").fetchone()[0])
    scanned = int(db.execute("SELECT COUNT(*) FROM main.readings NOT INDEXED").fetchone()[0])
    if by_index == scanned == certified:
        return []
    return [f"the readings table counts {scanned} rows by a scan and {by_index} through its "
            f"index, the certified batches hold {certified} accepted readings"]
