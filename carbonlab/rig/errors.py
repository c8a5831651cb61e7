"""The rig's errors: one root (`RigError`) and what it is raised for."""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class RigError(CarbonlabError):
    """Root of every error the rig raises on purpose."""


class HostError(RigError, OSError):
    """A host could not be reached, or a command on it failed (the lab's fault, or the host's)."""


class FaultError(RigError, ValueError):
    """A fault was asked with bad parameters, or cannot be applied here (the caller's fault)."""


class ScenarioError(RigError, ValueError):
    """A scenario file is malformed; the message names the file, the field and what is allowed."""
