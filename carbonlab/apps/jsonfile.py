"""The one JSON reader of the application modules' input files (records, units, report bundles).

`json.loads` alone lets three hostile inputs through: a key given twice in one object (the last
silently wins, so a reader that takes the first sees another figure), bytes that are not UTF-8
(a `UnicodeDecodeError` the callers did not expect) and nesting deep enough to exhaust the
recursion limit (a `RecursionError`, which is not a `ValueError`). Here each is a
`JsonFileError` (a `ValueError`) saying what is wrong, so every caller's `except ValueError`
turns it into its own error naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class JsonFileError(ValueError):
    """The bytes are not one JSON document this module accepts; `problem` says why (the caller
    names the file)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonFileError(f"the key {key!r} is given twice in one object")
        out[key] = value
    return out


def loads(data: bytes | str) -> Any:
    """The parsed document; `JsonFileError` for text that is not UTF-8, not JSON, nested too
    deeply, or that gives a key twice in one object."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise JsonFileError("nested too deeply to be read") from None


def load(path: Path) -> Any:
    """`loads` of a file's bytes; an unreadable file is an `OSError` as `Path.read_bytes` raises it."""
    return loads(path.read_bytes())


def get(http: httpx.Client, base_url: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """The parsed 200 answer of a member's API to GET `path` (the application modules' one way to
    ask a node); `JsonFileError` naming the URL when the call fails, the status is not 200, or the
    answer is not JSON this module accepts. Callers turn it into their own error naming `--node`."""
    import httpx

    where = f"{base_url}{path}"
    try:
        answer = http.get(path, params=params)
    except httpx.HTTPError as exc:
        raise JsonFileError(f"{where}: {exc}") from None
    if answer.status_code != 200:
        raise JsonFileError(f"{where}: HTTP {answer.status_code}: {answer.text[:200]}")
    try:
        return loads(answer.content)
    except JsonFileError as exc:
        raise JsonFileError(f"{where}: the answer is not JSON ({exc.problem})") from None
