"""Errors of the dashboards package."""

from __future__ import annotations

from carbonlab.errors import CarbonlabError


class DashboardsError(CarbonlabError):
    """Root of every error the dashboards package raises on purpose."""


class ScrapeTargetError(DashboardsError, ValueError):
    """Raised when a scrape target is malformed (role, address, label). The caller's fault."""


class DashboardSchemaError(DashboardsError, ValueError):
    """Raised when a generated dashboard breaks Grafana's v1 dashboard schema: a bug in a builder."""


class OutOfSyncError(DashboardsError):
    """Raised by `check` when the committed generated files differ from what the source builds.

    The fault of whoever edited one without the other: run `carbonlab dashboards build` and commit.
    """


class PushError(DashboardsError, ConnectionError):
    """Raised when Grafana cannot be reached or refuses what we push (bad URL, token, permissions)."""
