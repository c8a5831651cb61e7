"""TOML text for the config files carbonlab writes (NODE.toml, GATEWAY.toml).

Python reads TOML (`tomllib`) but does not write it; this writes the small subset our
configs use: strings, integers, finite floats, booleans, lists of those, tables (nested:
`[a.b]`) and arrays of tables (of scalars). Output is deterministic (the order given), so a playbook that
renders the same config twice reports no change.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(doc: Mapping[str, Any]) -> str:
    """`doc` as TOML: its scalars first, then its tables, then its arrays of tables."""
    lines: list[str] = []
    _table(doc, "", lines)
    return "\n".join(lines) + "\n"


def _table(table: Mapping[str, Any], prefix: str, lines: list[str]) -> None:
    lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not _is_table(v) and not _is_tables(v)]
    for k, v in table.items():
        if _is_table(v):
            lines += ["", f"[{prefix}{_key(k)}]"]
            _table(v, f"{prefix}{_key(k)}.", lines)
    for k, v in table.items():
        if _is_tables(v):
            for item in v:
                lines += ["", f"[[{prefix}{_key(k)}]]"]
                _table(item, f"{prefix}{_key(k)}.", lines)


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_tables(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and bool(v) and all(_is_table(t) for t in v)


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML has no place for the number {v!r} in a carbonlab config")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, Sequence) and not any(_is_table(x) for x in v):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as a TOML value")
