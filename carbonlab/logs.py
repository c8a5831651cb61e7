"""One log format for every carbonlab process: one JSON object per line on stderr.

Every line has `ts` (UTC, ISO 8601, milliseconds), `level`, `logger`, `process` (node,
gateway, meters), the process's identity (`member` for a node, `gateway` for a gateway,
`meters` for an emulated meters host), `msg`, and every `extra={...}` field the call
passed (e.g. `meter`, `event`, `reason`), so a log shipper or a test needs no parsing
rules and the lab's processes can be read side by side. This module sits at the top of
the package so that node, gateway and rig use it without importing each other.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

LEVELS = ("debug", "info", "warning", "error")     # a config's or a command's `log_level`
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """`fields` (the process and its identity) go into every line, after ts, level and logger."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__()
        self.fields = dict(fields)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, **self.fields,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


def setup(process: str, identity: Mapping[str, str], level: str,
          quiet: Mapping[str, int] | None = None, stream: IO[str] | None = None) -> None:
    """Route every logger to stderr (or `stream`) as JSON lines tagged with `process` and
    `identity`; each logger named in `quiet` logs only from its level up (third-party chatter)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLines({"process": process, **identity}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, floor in (quiet or {}).items():
        logging.getLogger(name).setLevel(max(floor, root.level))
