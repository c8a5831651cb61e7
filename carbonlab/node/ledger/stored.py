"""Rows read from a ledger file, each value checked against its column's declared type.

Theory of operation. SQLite stores whatever a hand edit puts in a column: `UPDATE blocks
SET certificate = 'hello'` leaves text in a BLOB column, `SET seq = 'x'` text in an INTEGER
one, and `X'00' || hash` makes text that is not UTF-8. Code that trusts the declared type
then fails far from the file (`bytes('hello')`, `'x' < 3`). So the readers of certified and
derived rows go through `select`, which checks every value's storage type against the
column's declared type, read once from the schema itself (`tables.SCHEMA`, `aggregate.SCHEMA`
made in memory), and raises `StoredValueError` naming the table, the column and the row (its
key) -- or, given a `problems` list, records the error there and returns None in its place,
so `ledger verify` can name every bad value and go on.

`text` is every ledger connection's `text_factory`: TEXT that is not UTF-8 becomes an
`UndecodedText` (shown escaped) instead of an `OperationalError` that names no row and prints
the raw bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from carbonlab.node.ledger import aggregate
from carbonlab.node.ledger.errors import StoredValueError
from carbonlab.node.ledger.tables import SCHEMA

SHOWN = 24       # characters of a wrong value shown in an error


@dataclass(frozen=True, slots=True)
class UndecodedText:
    """TEXT in the file that is not valid UTF-8, kept as its bytes."""

    raw: bytes

    def __repr__(self) -> str:
        more = "..." if len(self.raw) > SHOWN else ""
        return f"<text that is not UTF-8: {self.raw[:SHOWN]!r}{more}>"

    __str__ = __repr__


def text(raw: bytes) -> str | UndecodedText:
    """The connections' `text_factory`."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return UndecodedText(raw)


_TYPES = {"INTEGER": int, "REAL": float, "TEXT": str, "BLOB": bytes}
_NAMES = {int: "an integer", float: "a real number", str: "text", bytes: "a blob",
          UndecodedText: "text that is not UTF-8", type(None): "NULL"}


@dataclass(frozen=True, slots=True)
class Table:
    key: tuple[str, ...]                        # the primary key's columns, naming a row
    types: dict[str, tuple[type, bool]]         # column -> (Python type, NULL allowed)


def _declared() -> dict[str, Table]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(f"{SCHEMA};{aggregate.SCHEMA}")
        out = {}
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                          "AND name NOT LIKE 'sqlite_%'")]
        for table in names:
            info = db.execute(f"PRAGMA table_info({table})").fetchall()
            key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
            out[table] = Table(key, {r[1]: (_TYPES[r[2]], not (r[3] or r[5])) for r in info})
        return out
    finally:
        db.close()


TABLES = _declared()


def _shown(value: Any) -> str:
    shown = ascii(value.raw if isinstance(value, UndecodedText) else value)
    return shown if len(shown) <= SHOWN else f"{shown[:SHOWN]}..."


def _problem(value: Any, want: type) -> str:
    got = _NAMES.get(type(value), type(value).__name__)
    if value is None:
        return f"is NULL, not {_NAMES[want]}"
    return f"is {got} ({_shown(value)}), not {_NAMES[want]}"


def select(db: sqlite3.Connection, table: str, columns: Sequence[str], where: str = "",
           args: Sequence[Any] = (), *, order: str = "", limit: int | None = None,
           problems: list[StoredValueError] | None = None) -> list[tuple[Any, ...]]:
    """`SELECT columns FROM table [WHERE where] [ORDER BY order] [LIMIT limit]`, each value
    checked: a wrong one raises `StoredValueError`, or with `problems` is appended there and
    read as None."""
    spec = TABLES[table]
    wanted = [spec.types[c] for c in columns]
    sql = f"SELECT {', '.join((*spec.key, *columns))} FROM {table}"
    if where:
        sql += f" WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    nkey = len(spec.key)
    out = []
    good: set[tuple[type, ...]] = set()   # the rows' type signatures already found right
    for row in db.execute(sql, args):
        values = row[nkey:]
        signature = tuple(map(type, values))
        if signature not in good:
            bad = [i for i, (v, (t, null)) in enumerate(zip(values, wanted, strict=True))
                   if type(v) is not t and not (v is None and null)]
            if bad:
                out.append(tuple(_checked(spec, table, columns, row, bad, problems)))
                continue
            good.add(signature)
        out.append(tuple(values))
    return out


def _checked(spec: Table, table: str, columns: Sequence[str], row: Sequence[Any], bad: list[int],
             problems: list[StoredValueError] | None) -> list[Any]:
    nkey = len(spec.key)
    name = ", ".join(f"{k}={_shown(v)}" for k, v in zip(spec.key, row[:nkey], strict=True))
    values = list(row[nkey:])
    for i in bad:
        error = StoredValueError(table, columns[i], name, _problem(values[i], spec.types[columns[i]][0]))
        if problems is None:
            raise error
        problems.append(error)
        values[i] = None
    return values
