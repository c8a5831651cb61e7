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
