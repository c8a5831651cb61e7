"""Errors of the node package."""

from carbonlab.errors import CarbonlabError


class NodeError(CarbonlabError):
    """Root of every error the node raises on purpose."""


class SchemaError(NodeError, ValueError):
    """Raised when a message, batch, reading or genesis file does not match its schema.

    It is the sender's fault. `field` is the dotted path of the offending field
    (`batch.readings[3].co2_pct`), and the message says what was expected.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

