"""The ledger: certified blocks, the contract's verdicts and queries, in SQLite."""

from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.store import Checkpoint, CommittedBlock, Ledger

__all__ = ["Checkpoint", "CommittedBlock", "Ledger", "LedgerError"]
