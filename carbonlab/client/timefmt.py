"""Times as the pages print them: UTC, ISO 8601 to the minute (unix seconds in, text out)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(seconds: int | float | None) -> str:
    if seconds is None:
        return "\u2014"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def utc_ms(ms: int | None) -> str:
    return utc(None if ms is None else ms / 1000)
