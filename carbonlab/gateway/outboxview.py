"""`carbonlab gateway outbox`: a look at a gateway database that never writes to it.

Theory of operation. The gateway's `Store` creates its schema when it opens a file (what a
gateway needs on its first start); a look must not: a 0-byte file given by mistake became a
gateway database, and a read-only copy failed with "attempt to write a readonly database".
Here the file is opened read-only, as the ledger's `readfile` opens a ledger: `immutable=1`
when no `-wal` or `-journal` is beside it (nothing created, no locks, read-only media work),
through its WAL otherwise (a running gateway's commits are seen). Before anything is read, the
tables and columns the report reads are checked, and then the SQLite type of every value in
them, so a file that is not a gateway database, or one edited by hand
(`UPDATE meta SET value='abc'`), is one `OutboxViewError` naming the table and the column
instead of a traceback.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from carbonlab.gateway.errors import GatewayError
from carbonlab.gateway.outbox import Outbox
from carbonlab.gateway.store import Store

_INT, _NUM, _TEXT, _BLOB = ("integer",), ("integer", "real"), ("text",), ("blob",)
# what the report reads: table -> column -> the SQLite types its values may have
READ: dict[str, dict[str, tuple[str, ...]]] = {
    "meta": {"key": _TEXT, "value": _INT},
    "meters": {"meter_id": _TEXT, "closed_until": _INT, "last_seq": _INT, "qa_count": _INT},
    "outbox": {"batch_seq": _INT, "created_at": _NUM, "n_readings": _INT, "body": _BLOB, "attempts": _INT},
    "dead_letter": {"batch_seq": _INT, "created_at": _NUM, "failed_at": _NUM, "n_readings": _INT,
                    "reason": _TEXT, "detail": _TEXT},
    "committed": {"batch_seq": _INT},
}


class OutboxViewError(GatewayError, ValueError):
    """The file is not a gateway database, or one whose tables or values are not the gateway's
    (edited by hand, another program's file); the message names the file, table and column."""


def open_readonly(path: Path) -> Store:
    """A `Store` over `path` opened read-only (see the module's docstring), its layout checked."""
    immutable = not any(path.with_name(path.name + s).exists() for s in ("-wal", "-journal"))
    uri = path.absolute().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise OutboxViewError(f"{path}: cannot open ({exc})") from None
    store = Store.__new__(Store)
    store.path, store.lock, store.db = path, threading.Lock(), db
    try:
        _check(db, path)
    except sqlite3.DatabaseError as exc:     # "file is not a database"
        db.close()
        raise OutboxViewError(f"{path}: not a gateway database ({exc})") from None
    except OutboxViewError:
        db.close()
        raise
    return store


def _check(db: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in READ if t not in tables]
    if len(missing) == len(READ):
        raise OutboxViewError(f"{path}: not a gateway database (it has none of its tables: "
                              f"{', '.join(READ)})")
    if missing:
        raise OutboxViewError(f"{path}: not a gateway database: no table {missing[0]!r}")
    for table, columns in READ.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for column, kinds in columns.items():
            if column not in have:
                raise OutboxViewError(f"{path}: not a gateway database: table {table!r} has no column "
                                      f"{column!r} (it has {', '.join(sorted(have)) or 'none'})")
            marks = ", ".join("?" * len(kinds))
            bad = db.execute(f"SELECT typeof({column}) FROM {table} WHERE typeof({column}) "
                             f"NOT IN ({marks}) LIMIT 1", kinds).fetchone()
            if bad is not None:
                raise OutboxViewError(f"{path}: table {table!r}, column {column!r}: a value of type "
                                      f"{bad[0]} where {' or '.join(kinds)} is expected (edited by hand?)")


def report(path: Path, gateway_id: str, limit: int) -> dict[str, Any]:
    """What `gateway outbox` prints: counters, the first `limit` outbox entries and dead
    letters, and each meter's progress."""
    store = open_readonly(path)
    try:
        outbox = Outbox(store)
        now = time.time()
        meters = store.db.execute("SELECT meter_id, closed_until, last_seq, qa_count FROM meters "
                                  "ORDER BY meter_id").fetchall()
        return {
            "gateway_id": gateway_id,
            "next_batch_seq": store.meta("next_batch_seq", 1),
            "outbox_depth": outbox.depth(),
            "outbox_oldest_age_s": round(outbox.oldest_age_s(now), 3),
            "committed_batches": outbox.committed_count(),
            "outbox": [{"batch_seq": e.batch_seq, "readings": e.n_readings, "attempts": e.attempts,
                        "age_s": round(now - e.created_at, 3)} for e in outbox.entries(limit)],
            "dead_letters": outbox.dead_letters(limit),
            "meters": [{"meter_id": m, "closed_until": c, "last_seq": s, "qa_intervals": q}
                       for m, c, s, q in meters],
        }
    except sqlite3.Error as exc:
        raise OutboxViewError(f"{path}: cannot read the gateway database ({exc})") from None
    finally:
        store.close()
