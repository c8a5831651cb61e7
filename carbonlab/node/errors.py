"""Errors of the node package."""

from carbonlab.checks import CheckError
from carbonlab.errors import CarbonlabError


class NodeError(CarbonlabError):
    """Root of every error the node raises on purpose."""


class SchemaError(NodeError, CheckError):
    """Raised when a message, batch, reading or genesis file does not match its schema.

    It is the sender's fault. `field` is the dotted path of the offending field
    (`batch.readings[3].co2_pct`), and the message says what was expected (the neutral
    `carbonlab.checks.CheckError`, bound to node by `node/schema.py`).
    """



class Overloaded(NodeError):
    """Raised by `NodeService.submit` when `max_pending_batches` batches submitted to this node
    are still undecided: nobody's fault, the node refuses a new batch rather than queue it
    without limit. The batch was not taken (nothing of it is kept); the client retries after
    `retry_after_s`, here or at another member. The API answers 503 with `Retry-After`."""

    def __init__(self, pending: int, bound: int, retry_after_s: int) -> None:
        super().__init__(f"batch: this node has {pending} batches waiting for a decision (bound "
                         f"max_pending_batches = {bound}); not taken, retry after {retry_after_s} s")
        self.pending, self.bound, self.retry_after_s = pending, bound, retry_after_s
