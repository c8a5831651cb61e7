"""Checks for decoded wire and JSON values; every failure names the field it is about.

These are the typed-schema primitives behind `Reading.from_wire`, `Batch.from_wire`,
genesis loading and the PBFT message decoder. They accept exactly one Python type
each (a bool is not an int, an int is accepted where a float is wanted) and raise
`SchemaError(field, problem)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from carbonlab.node.errors import SchemaError


def as_str(value: Any, field: str, *, max_len: int = 256, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise SchemaError(field, f"expected a string, got {type(value).__name__}")
    if not value and not allow_empty:
        raise SchemaError(field, "must not be empty")
    if len(value) > max_len:
        raise SchemaError(field, f"longer than {max_len} characters")
    return value


def as_int(value: Any, field: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(field, f"expected an integer, got {type(value).__name__}")
    if lo is not None and value < lo:
        raise SchemaError(field, f"{value} is below the minimum {lo}")
    if hi is not None and value > hi:
        raise SchemaError(field, f"{value} is above the maximum {hi}")
    return value


def as_float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(field, f"expected a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise SchemaError(field, "must be a finite number")
    return result


def as_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(field, f"expected true or false, got {type(value).__name__}")
    return value


def as_bytes(value: Any, field: str, *, size: int | None = None, max_len: int = 1 << 20) -> bytes:
    if not isinstance(value, bytes):
        raise SchemaError(field, f"expected bytes, got {type(value).__name__}")
    if size is not None and len(value) != size:
        raise SchemaError(field, f"expected {size} bytes, got {len(value)}")
    if len(value) > max_len:
        raise SchemaError(field, f"longer than {max_len} bytes")
    return value


def as_hex(value: Any, field: str, *, size: int | None = None, max_len: int = 1 << 16) -> bytes:
    text = as_str(value, field, max_len=max_len)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise SchemaError(field, "expected a hexadecimal string") from None
    if size is not None and len(raw) != size:
        raise SchemaError(field, f"expected {size} bytes ({2 * size} hex digits), got {len(raw)}")
    return raw


def as_list(value: Any, field: str, *, max_len: int = 100_000, length: int | None = None) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise SchemaError(field, f"expected a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise SchemaError(field, f"expected {length} items, got {len(value)}")
    if len(value) > max_len:
        raise SchemaError(field, f"more than {max_len} items")
    return list(value)


def as_dict(value: Any, field: str, *, allowed: Sequence[str] | None = None,
            required: Sequence[str] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(field, f"expected an object, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise SchemaError(
                f"{field}.{unknown[0]}", f"unknown field (allowed: {', '.join(allowed)})"
            )
    for key in required:
        if key not in value:
            raise SchemaError(f"{field}.{key}", "is required")
    return value


def as_choice(value: Any, field: str, choices: Sequence[str]) -> str:
    text = as_str(value, field)
    if text not in choices:
        raise SchemaError(field, f"{text!r} is not one of {', '.join(choices)}")
    return text
