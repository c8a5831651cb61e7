"""Stored types checked inside the query layer's SQL: sums, ranges and joins.

Theory of operation. `stored.select` checks every value it returns, in Python. The query
layer mostly does not return rows: it sums them (`SUM`, `MIN`, `GROUP BY`) over up to a year
of readings, and there a value of the wrong type does harm without a word: `SUM('x')` adds 0,
`'x' + 60` is 60, and SQLite sorts every number before any text or blob, so a range filter
(`interval_start < ?`, `height <= ?`) drops a row holding text from the answer. Two checks
close that, each as cheap as the read it guards:

- `wrong(table, columns)` is an SQL condition, true for a row where one of `columns` holds a
  value not of its declared type (`typeof()` against the schema `stored` reads); a
  row-returning join adds it as a column, a range scan counts it. `witness` says the same of a
  group from aggregates a sum computes in its own pass (MAX, SUM), at about half the cost per
  row: the roll-ups' hot path. Either found one: `name_wrong` finds the first such row with
  `stored.select`, which raises `StoredValueError` naming the table, the column and the row
  (the ledger's read layer adds the file).
- `hidden(table, column, where)` looks for a value of `column` that sorts above every number
  (text, a blob, a real past 64 bits) among the rows `where` selects: one index seek per
  equality value when an index leads with `where`'s columns and `column` (readings by meter
  and time, by block; reading_days by meter and day), not a scan. It runs before a read whose
  range filter such a value would hide.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, NoReturn

from carbonlab.node.ledger.errors import StoredValueError
from carbonlab.node.ledger.stored import TABLES, select

_SQL = {int: "integer", float: "real", str: "text", bytes: "blob"}
ABOVE_NUMBERS = 2**63 - 1     # no integer is greater; text and blobs are


def wrong(table: str, columns: Sequence[str], alias: str = "") -> str:
    """SQL true where one of `columns` (qualified by `alias`, e.g. `r.`) is of the wrong type."""
    types = TABLES[table].types
    parts = []
    for column in columns:
        kind, null = types[column]
        allowed = f"'{_SQL[kind]}'" + (", 'null'" if null else "")
        parts.append(f"typeof({alias}{column}) NOT IN ({allowed})")
    return " OR ".join(parts) or "0"


def witness(table: str, columns: Sequence[str], alias: str = "") -> str:
    """An SQL expression over a group's aggregates, true when a row of the group holds a value
    of the wrong type in one of `columns`; in a sum's own pass at about half the cost of
    `wrong` per row, and read back as one column. A REAL or TEXT column's affinity keeps only
    text or blobs there as wrong values, which sort above every number (blobs above text), so
    its MAX is one; an INTEGER column's SUM is not an integer as soon as one value is not."""
    types = TABLES[table].types
    parts = []
    for c in columns:
        kind = types[c][0]
        parts.append(f"typeof({'SUM' if kind is int else 'MAX'}({alias}{c})) NOT IN "
                     f"('{_SQL[kind]}', 'null')")
    return " OR ".join(parts) or "0"


def name_wrong(db: sqlite3.Connection, table: str, columns: Sequence[str], where: str = "",
               args: Sequence[Any] = ()) -> NoReturn:
    """Raise `StoredValueError` for the first row matching `where` whose `columns` are of the
    wrong type (a sum or join counted one)."""
    cond = f"({wrong(table, columns)})"
    select(db, table, columns, f"({where}) AND {cond}" if where else cond, args, limit=1)
    raise StoredValueError(table, columns[0], "?", "held a value of the wrong type while read, "
                                                   "then not")


def hidden(db: sqlite3.Connection, table: str, column: str, where: str = "",
           args: Sequence[Any] = ()) -> None:
    """Raise `StoredValueError` if a row matching `where` holds text or a blob in `column`
    (which a range filter on it would silently leave out)."""
    cond = f"{column} > {ABOVE_NUMBERS}"
    select(db, table, (column,), f"{where} AND {cond}" if where else cond, args, limit=1)


def meters_in(meters: Sequence[str], column: str = "meter_id") -> str:
    """`meter_id IN (?, ...)` for `meters` (passed as the arguments)."""
    return f"{column} IN ({', '.join('?' * len(meters))})"
