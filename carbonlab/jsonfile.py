"""The one strict JSON reader of the project's input files (genesis, signed heads, proofs, query
answers, the application modules' records, units and report bundles).

`json.loads` alone lets hostile inputs through: a key given twice in one object (the last
silently wins, so a reader that takes the first sees another figure), bytes that are not UTF-8
(a `UnicodeDecodeError`), nesting deep enough to exhaust the recursion limit (a
`RecursionError`, which is not a `ValueError`), `NaN` and `Infinity` (not JSON, RFC 8259) and an
integer of more digits than Python converts (a bare `ValueError`). Here each is a
`JsonFileError` (a `ValueError`) saying what is wrong; `read` also names the file.

Shared (top of the tree, imports no carbonlab package).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from carbonlab.boundedread import TooLargeError, read_limited

MAX_FILE_BYTES = 256 * 1024 * 1024   # the largest report bundle file measured is ~60 MB

class JsonFileError(ValueError):
    """The bytes are not one JSON document this module accepts, or (`read`) the file cannot be
    read; the file's author's fault. `problem` says why; `loads` leaves naming the file to the
    caller, `read` names it in the message."""

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


def _constant(name: str) -> Any:
    raise JsonFileError(f"{name} is not a JSON value")


def loads(data: bytes | str) -> Any:
    """The parsed document; `JsonFileError` for text that is not UTF-8, not JSON, nested too
    deeply, or that gives a key twice in one object."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"not UTF-8 text (byte {exc.start}): not a JSON file") from None
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise JsonFileError("nested too deeply to be read") from None
    except JsonFileError:
        raise
    except ValueError as exc:   # int() of more than sys.get_int_max_str_digits() digits
        raise JsonFileError(f"not valid JSON ({parser_problem(exc)})") from None


def parser_problem(exc: ValueError) -> str:
    """What a parser's `ValueError` says, Python's int-conversion limit in the file's terms: its
    own text tells the user to call `sys.set_int_max_str_digits()` (also used by `fields` for TOML
    and YAML, and by the node's API)."""
    text = str(exc)
    if "set_int_max_str_digits" not in text:
        return text
    found = re.search(r"value has ([0-9]{1,12}) digits", text)
    digits = f"{int(found[1]):,} digits" if found else "too many digits"
    return f"an integer of {digits}: at most {sys.get_int_max_str_digits():,} digits are read"


def load(path: Path, limit: int = MAX_FILE_BYTES) -> Any:
    """`loads` of a file's bytes, at most `limit` of them (`/dev/zero` would fill the memory);
    an unreadable file is an `OSError` as `open` raises it."""
    try:
        data = read_limited(path, limit)
    except TooLargeError as exc:
        raise JsonFileError(f"{exc}: not a JSON file this command reads") from None
    return loads(data)


def read(path: Path) -> Any:
    """`load`, with every failure (unreadable, not strict JSON) a `JsonFileError` whose message
    starts with the file's path: what a command prints for a file the user gave it."""
    try:
        return load(path)
    except OSError as exc:
        raise JsonFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except JsonFileError as exc:
        raise JsonFileError(f"{path}: {exc.problem}") from None
