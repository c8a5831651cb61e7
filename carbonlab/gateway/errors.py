"""Errors of the gateway package."""

from carbonlab.errors import CarbonlabError


class GatewayError(CarbonlabError):
    """Root of every error the gateway raises on purpose."""


class ConfigError(GatewayError, ValueError):
    """A gateway configuration or register map file is invalid. The user's fault; names file and field."""


class FrameError(GatewayError, ValueError):
    """A frame (Modbus reply, HJ 212 frame) is malformed. The sender's fault; says what is wrong."""
