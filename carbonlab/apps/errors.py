"""Errors of the application modules: the user's input or problem, never a bug."""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class AppsError(CarbonlabError):
    """Root of the errors the planning and forecast modules raise on purpose."""


class InputError(AppsError, ValueError):
    """A file or value given to a planning or forecast module is wrong; `where` names the file
    and field (or option), so the message says what to fix."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class InfeasibleError(AppsError):
    """The planning problem has no solution; `constraint` names the constraint that cannot be met
    (`demand`, `cap`, `ramp`, ...), and the message says by how much where that is known."""

    def __init__(self, constraint: str, detail: str) -> None:
        super().__init__(f"infeasible ({constraint}): {detail}")
        self.constraint = constraint
        self.detail = detail
