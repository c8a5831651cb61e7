"""Errors of the compliance module: one root, each subclass saying whose fault it is."""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class ComplianceError(CarbonlabError):
    """Root of every error the compliance module raises on purpose."""


class RuleSetError(ComplianceError, ValueError):
    """Raised when a rule set file is missing a field, has one out of its rule, or two fields
    that contradict each other (a multiplier's min above its max, a term citing no clause).
    The rule set author's fault; the message names the file and the dotted field."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        super().__init__(f"{file}: field {field!r}: {problem}")
        self.file, self.field, self.problem = file, field, problem


class InputError(ComplianceError, ValueError):
    """Raised when the position's inputs (allowance records, verified emissions, data quality,
    market price, a chosen parameter) are missing or do not fit the rule set. The fault of
    whoever supplied them; the message names the source and the field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"{source}: field {field!r}: {problem}")
        self.source, self.field, self.problem = source, field, problem
