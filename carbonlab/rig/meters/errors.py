"""Errors of the emulated-meter rig."""

from __future__ import annotations

from carbonlab.rig.errors import RigError


class MetersError(RigError):
    """Root of every error the emulated-meter part of the rig raises on purpose (a `RigError`)."""


class MetersConfigError(MetersError, ValueError):
    """A METERS.yaml file or a fault request is invalid. The user's fault; the message names the
    file or fault, the field and what is allowed."""


class PhysicalMeterError(MetersError, TypeError):
    """An operation only an emulated meter supports (faults, truth) was asked of a physical one."""
