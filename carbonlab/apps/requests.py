"""Requests to the application services, read from a JSON body (the client's backend, issue 16).

A service's request is a frozen dataclass whose fields declare their rules with
`carbonlab.fields`; `build(cls, raw)` reads a parsed JSON body into it and turns the fields
layer's `FieldError` into the apps' `InputError` whose `where` is the dotted field of the
request (`request.carbon_price`), so an HTTP layer can answer 4xx naming it. `numbers` reads a
list of finite numbers (a demand curve), which the fields layer has no type for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from carbonlab import fields
from carbonlab.apps.errors import InputError
from carbonlab.checks import finite, shown

T = TypeVar("T")
ROOT = "request"


def build(cls: type[T], raw: Any, *, names: tuple[str, ...] | None = None,
          allowed: tuple[str, ...] = ()) -> T:
    """`cls` from the body `raw`; fields not in `names` are left to the caller (in `allowed`)."""
    try:
        return cls(**fields.values(cls, raw, file=ROOT, prefix=f"{ROOT}.", names=names, allowed=allowed))
    except fields.FieldError as exc:
        raise InputError(exc.field if exc.field.startswith(ROOT) else f"{ROOT}.{exc.field}",
                         exc.problem) from None


def member(raw: Any, key: str) -> Any:
    """`raw[key]` of a body already checked to be a mapping; missing is an error naming it."""
    if not isinstance(raw, Mapping) or key not in raw:
        raise InputError(f"{ROOT}.{key}", "is required")
    return raw[key]


def numbers(raw: Any, where: str, *, lo: float = 0.0, hi: float = 1e12, most: int) -> tuple[float, ...]:
    """A non-empty list of at most `most` finite numbers in [lo, hi]; the error names the index."""
    if not isinstance(raw, list) or not raw:
        raise InputError(where, f"must be a non-empty list of numbers, got {type(raw).__name__}")
    if len(raw) > most:
        raise InputError(where, f"holds {len(raw)} values; at most {most}")
    out = []
    for i, v in enumerate(raw):
        number = finite(v)           # an int too large for a float is not one (float() raised)
        if number is None or not lo <= number <= hi:
            raise InputError(f"{where}[{i}]", f"must be a number in {lo:g}..{hi:g}, got {shown(v)}")
        out.append(number)
    return tuple(out)
