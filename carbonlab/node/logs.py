"""Structured logs: one JSON object per line on stderr.

Each line has `ts` (UTC, ISO 8601), `level`, `logger`, `msg`, the node's `member`,
and every `extra={...}` field the call passed, so a log shipper needs no parsing rules.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    def __init__(self, member: str) -> None:
        super().__init__()
        self.member = member

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "member": self.member,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


def setup(member: str, level: str) -> None:
    """Route every logger to stderr as JSON lines; py-libp2p's own chatter only from warning up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(member))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("libp2p", "multiaddr", "hypercorn.access", "async_service"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # py-libp2p logs expected dial failures to absent peers at ERROR; our link stats count them
    logging.getLogger("libp2p.transport.tcp.tcp").setLevel(logging.CRITICAL)
    logging.getLogger("libp2p.network.swarm").setLevel(logging.CRITICAL)
