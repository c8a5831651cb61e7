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

