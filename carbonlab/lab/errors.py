"""Errors of the lab package: one root (`LabError`), each subclass saying whose fault it is."""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class LabError(CarbonlabError):
    """Root of every error the lab raises on purpose."""


class TopologyError(LabError, ValueError):
    """Raised when a topology file is not valid. The topology author's fault.

    The message names the file, the dotted field path (`meters[3].gateway`) and what
    is allowed there.
    """

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = path
        self.field = field
        self.problem = problem


class TransitionError(LabError, RuntimeError):
    """Raised when a lab is asked to move between lifecycle phases that are not adjacent
    (say, `provisioned` from `absent`). A bug in the caller, or a lab used by two commands at once."""


class ProviderError(LabError, RuntimeError):
    """Raised when a provider cannot create, reach or remove a host (missing tool, not root,
    a command that failed). The message names the host and the command."""


class StepError(LabError, RuntimeError):
    """Raised when a provisioning or health step fails on a host. Names the host, the step and
    the log file to read."""

    def __init__(self, host: str, step: str, problem: str, log: str | None = None) -> None:
        where = f" (log: {log})" if log else ""
        super().__init__(f"host {host}: step {step!r} failed: {problem}{where}")
        self.host = host
        self.step = step
        self.problem = problem
        self.log = log


class StateError(LabError, RuntimeError):
    """Raised when the lab state file is unreadable or belongs to another lab, or the lab is
    locked by another running command."""


class UpFailed(LabError, RuntimeError):
    """Raised when `lab up` fails (its `cause`, whose fault that says), saying what of the lab
    it left: `left` lists what is still there (processes, namespaces, directories), empty when
    `taken_down` (asked for with `--down-on-failure`) removed it all."""

    def __init__(self, cause: LabError, left: list[str], taken_down: bool,
                 down_error: LabError | None = None) -> None:
        if taken_down and not left:
            after = "it took the lab down again: nothing of it is left"
        elif taken_down:
            after = (f"taking the lab down again failed ({down_error}); still there: {'; '.join(left)}; "
                     "`carbonlab lab down` tries again")
        elif left:
            after = f"it left the lab partly up: {'; '.join(left)}; `carbonlab lab down` removes it"
        else:
            after = "nothing of the lab is running"
        super().__init__(f"{cause}\nlab up failed; {after}")
        self.cause = cause
        self.left = left
        self.taken_down = taken_down
