"""Opening a ledger file to read it, writing nothing beside it.

Theory of operation. A ledger is in WAL mode, and SQLite's ordinary read-only open of a WAL
file creates its `-wal` and `-shm` sidecars (and fails in a read-only directory). But a file
with no `-wal` (nor `-journal`) beside it has no writer and nothing outside itself: it is
opened with `immutable=1`, which reads the file alone, takes no locks and creates nothing, so
an archived evidence copy verifies on read-only media and a look leaves no trace. A file with
a `-wal` has (or had) a writer, and the log may hold committed blocks the main file does not
yet: it is read through its WAL as before, so a live node's ledger keeps working while it
is written.

Immutable means "nobody writes": if a writer opens the file after we did, we must notice.
The connection keeps the file's stamp (inode, size, mtime, and whether a `-wal` or `-journal`
exists) from when it opened; `changed()` compares it with now. The ledger's read layer opens
the file again (through its WAL) before a read when it changed, and `ledger verify` refuses a
result read while it changed.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from carbonlab.node.ledger.errors import LedgerFileError
from carbonlab.node.ledger.stored import text

Stamp = tuple[int, int, int, bool, bool]


def stamp(path: Path) -> Stamp:
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns, _beside(path, "-wal").exists(),
            _beside(path, "-journal").exists())


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


class LedgerConnection(sqlite3.Connection):
    """A read-only connection to `path`; `stamp` is the file's when opened immutable, else None
    (read through the WAL, which sees a writer's commits by itself)."""

    path: Path
    stamp: Stamp | None

    def changed(self) -> bool:
        """Whether the file was written since this immutable connection opened it."""
        if self.stamp is None:
            return False
        try:
            return stamp(self.path) != self.stamp
        except OSError:
            return True


def check_file(path: Path) -> None:
    if path.is_dir():
        raise LedgerFileError(path, "is a directory, not a ledger file")
    if not path.is_file():
        raise LedgerFileError(path, "no such ledger file")


def open_readonly(path: Path) -> LedgerConnection:
    """The file read-only: immutable when nothing is beside it, else through its WAL."""
    check_file(path)
    try:
        found = stamp(path)
    except OSError as exc:
        raise LedgerFileError(path, f"cannot read ({exc.strerror})") from None
    immutable = not (found[3] or found[4])
    uri = path.absolute().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    try:
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                             factory=LedgerConnection)
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(path, f"cannot open as a ledger ({exc})") from None
    assert isinstance(db, LedgerConnection)
    db.path, db.stamp = path, found if immutable else None
    db.text_factory = text
    try:
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise LedgerFileError(path, _why(path, exc, immutable)) from None
    return db


def _why(path: Path, exc: sqlite3.DatabaseError, immutable: bool) -> str:
    shm = _beside(path, "-shm")
    if not immutable and not shm.exists() and not os.access(path.parent, os.W_OK):
        return (f"cannot open as a ledger ({exc}): it has a write-ahead log ({path.name}-wal) but "
                f"no {shm.name}, which SQLite must create, in a read-only directory; copy the file "
                "with its -wal somewhere writable")
    return f"cannot open as a ledger ({exc})"
