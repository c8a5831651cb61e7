"""Errors of the ledger."""

from __future__ import annotations

from carbonlab.node.errors import NodeError


class LedgerError(NodeError, ValueError):
    """Raised when a ledger file cannot be used as asked: it belongs to another genesis, is not a
    carbonlab ledger, or a caller tries to commit a block that does not extend the chain (a block
    out of order, a certificate for another proposal). The caller's or the file's fault, never a
    crash of the store: nothing is written when it is raised. `field` names the argument or
    setting at fault when a caller's value was refused (a query's `limit`), else None."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LedgerFileError(LedgerError):
    """Raised when the file at `path` cannot be read as a ledger: absent, a directory, not
    SQLite, pages damaged, a table missing, a stored value of the wrong type, or changed by a
    writer while it was read. The file's fault (or its disk's), never the caller's arguments;
    the message starts with the path."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class StoredValueError(LedgerError):
    """Raised by the typed row reader (`stored.select`) when a value in the file is not of its
    column's declared type (text in a BLOB column, text in an INTEGER column, text that is not
    UTF-8): a hand edit or damage, the file's fault. Names the table, the column and the row
    (by its key); the ledger's read layer adds the file (`LedgerFileError`)."""

    def __init__(self, table: str, column: str, row: str, problem: str) -> None:
        super().__init__(f"{table}.{column} {problem} (row {row})", field=f"{table}.{column}")
        self.table = table
        self.column = column
        self.row = row
        self.problem = problem
