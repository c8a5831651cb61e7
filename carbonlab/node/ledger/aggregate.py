"""`reading_days`: the accepted readings summed per meter, UTC day and substitution.

Theory of operation. Roll-ups by day, month or year and the structure tree read this
table instead of the readings (a year of hourly readings of 100 stacks is 876,000 rows,
36,500 here). It is derived, like `readings`: `commit` adds each block's readings in the
block's own transaction (grouped in Python first, so a block costs one upsert per meter
and day it touches, not one per reading); a file written before the table existed is
filled from its readings when a writer opens it (the `aggregates` meta key records that it
is complete); `carbonlab ledger verify` sums the certified readings and compares. A
read-only connection to a file without the marker does not use it (the query engine sums
the readings instead).

A quantity a reading does not carry (NULL: CH4 on a meter without a CH4 channel) stays
NULL in the day's sum until a reading of that day carries it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from carbonlab.node.ledger.tables import READING_COLUMNS

MARKER = b"reading_days/1"
DAY_S = 86_400
# summed columns, in the table's order; a readings column that does not exist yet sums as NULL
SUMS = ("co2_kg", "ch4_kg", "n2o_kg", "gross_mwh", "heat_input_gj")

SCHEMA = """
CREATE TABLE IF NOT EXISTS reading_days (
    meter_id TEXT NOT NULL,
    day_start INTEGER NOT NULL,        -- unix seconds of 00:00 UTC
    substituted INTEGER NOT NULL,      -- 0: measured readings, 1: substituted readings
    readings INTEGER NOT NULL,
    co2_kg REAL, ch4_kg REAL, n2o_kg REAL, gross_mwh REAL, heat_input_gj REAL,
    PRIMARY KEY (meter_id, day_start, substituted)
) WITHOUT ROWID
"""

_ADD = ", ".join(f"{c} = CASE WHEN excluded.{c} IS NULL THEN {c} "
                 f"ELSE COALESCE({c}, 0) + excluded.{c} END" for c in SUMS)
UPSERT = (f"INSERT INTO reading_days (meter_id, day_start, substituted, readings, {', '.join(SUMS)}) "
          f"VALUES (?, ?, ?, ?, {', '.join('?' * len(SUMS))}) "
          f"ON CONFLICT (meter_id, day_start, substituted) DO UPDATE SET "
          f"readings = readings + excluded.readings, {_ADD}")


def _add(a: float | None, b: float | None) -> float | None:
    if b is None:
        return a
    return b if a is None else a + b


_AT = {name: i for i, name in enumerate(READING_COLUMNS)}
_METER, _START, _SUB, _CO2 = _AT["meter_id"], _AT["interval_start"], _AT["substituted"], _AT[SUMS[0]]
_OPTIONAL = itemgetter(*(_AT[c] for c in SUMS[1:]))   # NULL where a reading has no such channel


def day_rows(reading_rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Reading rows (in `READING_COLUMNS` order) summed into `reading_days` rows (each sum
    NULL until a reading carries the quantity; co2_kg is never NULL)."""
    days: dict[tuple[str, int, int], list[Any]] = {}
    for row in reading_rows:
        start = row[_START]
        key = (row[_METER], start - start % DAY_S, int(row[_SUB]))
        acc = days.get(key)
        if acc is None:
            days[key] = [1, row[_CO2], *_OPTIONAL(row)]
            continue
        acc[0] += 1
        acc[1] += row[_CO2]
        for j, value in enumerate(_OPTIONAL(row), 2):
            if value is not None:
                acc[j] = value if acc[j] is None else acc[j] + value
    return [(*key, *acc) for key, acc in days.items()]


def recomputed(db: sqlite3.Connection) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    """`reading_days` as the readings table sums it now (for filling and for verify)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(readings)")}
    sums = ", ".join(f"SUM({c})" if c in have else "NULL" for c in SUMS)
    sql = (f"SELECT meter_id, interval_start - interval_start % {DAY_S} AS day, substituted, "
           f"COUNT(*), {sums} FROM readings GROUP BY meter_id, day, substituted")
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in db.execute(sql)}


def fill(db: sqlite3.Connection) -> None:
    """Rebuild the table from the readings (inside the caller's transaction) and mark it."""
    db.execute("DELETE FROM reading_days")
    db.executemany(UPSERT, [(*k, *v) for k, v in recomputed(db).items()])
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('aggregates', ?)", (MARKER,))


def merge_into(acc: dict[tuple[str, int, int], tuple[Any, ...]],
               rows: Iterable[Sequence[Any]]) -> None:
    """Add `day_rows` output into `acc` (key -> (readings, *SUMS))."""
    for meter, day, sub, count, *sums in rows:
        key = (meter, day, sub)
        old = acc.get(key)
        acc[key] = (count, *sums) if old is None else \
            (old[0] + count, *(_add(a, b) for a, b in zip(old[1:], sums, strict=True)))


def problems(db: sqlite3.Connection,
             want: dict[tuple[str, int, int], tuple[Any, ...]]) -> list[str]:
    """How the stored table differs from `want`, the certified readings' sums (relative 1e-9
    on floats: the order of additions differs)."""
    if not present(db):
        marked = db.execute("SELECT value FROM meta WHERE key = 'aggregates'").fetchone()
        if marked is not None and bytes(marked[0]) == MARKER:
            return ["reading_days: the table is missing or lacks a column, but meta's "
                    "'aggregates' says it is complete (a writer opening the file rebuilds it)"]
        return []   # a file from before the table
    got = {(r[0], r[1], r[2]): tuple(r[3:]) for r in db.execute(
        f"SELECT meter_id, day_start, substituted, readings, {', '.join(SUMS)} FROM reading_days")}
    out = []
    for key in sorted(set(want) | set(got), key=lambda k: (k[0], k[1], k[2])):
        a, b = want.get(key), got.get(key)
        if a is None or b is None or a[0] != b[0] or not all(
                _close(x, y) for x, y in zip(a[1:], b[1:], strict=True)):
            out.append(f"reading_days row {key[0]} day {key[1]} substituted={key[2]} differs "
                       f"from the certified readings' sums ({b} stored, {a} certified)")
    return out


COLUMNS = frozenset(("meter_id", "day_start", "substituted", "readings", *SUMS))


def present(db: sqlite3.Connection) -> bool:
    """Whether the file has the table with every column (one dropped or cut down by hand has
    not, whatever meta says)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(reading_days)")}
    return have >= COLUMNS


def _close(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        return False   # text or bytes put in a sum by hand
    return bool(abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y)))
