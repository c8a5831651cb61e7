"""A page's query parameters, read into a frozen dataclass declared with `carbonlab.fields`.

A page declares its parameters once, as a dataclass whose fields carry their rules
(`spec(lo=, hi=, pattern=, choices=)`); `read_params` refuses a parameter given twice, an
unknown one, one longer than `MAX_PARAM_CHARS`, and anything the field's rule refuses, with
a `ParamError` naming the parameter (the app answers 400 with that name). An int field
takes ASCII digits with an optional minus, a float field an ASCII decimal number (int() and
float() would also read " 4\v", "4_000", "²" or "٢٠٢٦"); the length cap comes first, so no
int() ever sees more digits than it may convert, and the field's declared range then refuses
a value out of it, naming the parameter. Everything else arrives as the string it was. Every
value an error echoes is cut (`carbonlab.checks.shown`).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from carbonlab.checks import finite, shown
from carbonlab.client import ParamError
from carbonlab.fields import spec

T = TypeVar("T")
MAX_PARAM_CHARS = 200
_INT = re.compile(r"-?[0-9]+")     # any length up to the cap: the field's range bounds it
_DECIMAL = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")
IDENT = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"   # a genesis id: company, plant, unit, meter
TIME = r"[0-9A-Za-z:+.\-]{1,40}"             # unix seconds or ISO 8601, as the node's filter reads it
GWP_SETS = ("AR5", "AR6")


@dataclass(frozen=True)
class Scope:
    """The part of the organisation and the time range a page shows, and the GWP set of its
    CO2e: the node's emissions filter (checked again by the node, which names what it refuses)."""

    company: str | None = spec(None, pattern=IDENT)
    plant: str | None = spec(None, pattern=IDENT)
    unit: str | None = spec(None, pattern=IDENT)
    stack: str | None = spec(None, pattern=IDENT)
    since: str | None = spec(None, pattern=TIME)
    until: str | None = spec(None, pattern=TIME)
    gwp: str = spec("AR5", choices=GWP_SETS)

    def filter(self) -> dict[str, str]:
        """The node's filter parameters that are set (not the GWP set)."""
        return {k: v for k, v in (("company", self.company), ("plant", self.plant), ("unit", self.unit),
                                  ("stack", self.stack), ("since", self.since),
                                  ("until", self.until)) if v is not None}


def read_params(cls: type[T], items: Iterable[tuple[str, str]], *, extra: Iterable[str] = (),
                max_chars: int = MAX_PARAM_CHARS) -> T:
    """`cls` from a query string's (name, value) pairs; `extra` names are accepted and ignored.
    `max_chars` is the cap of one value (a form's series of numbers needs more than a filter)."""
    from carbonlab import fields

    hints = typing.get_type_hints(cls)
    ignored = set(extra)
    items = list(items)
    only_params(items, [f.name for f in dataclasses.fields(cls)], also=ignored)  # type: ignore[arg-type]
    seen: set[str] = set()
    raw: dict[str, Any] = {}
    for name, value in items:
        if name in ignored:
            continue
        if name in seen:
            raise ParamError(name, "given more than once")
        seen.add(name)
        if len(value) > max_chars:
            raise ParamError(name, f"longer than {max_chars} characters")
        if value == "":
            continue            # an empty form field is the same as none
        kind = _NUMBERS.get(hints.get(name))
        raw[name] = value if kind is None else number(name, value, kind)
    try:
        return fields.build(cls, raw, file="query")
    except fields.FieldError as exc:
        raise ParamError(exc.field, exc.problem) from None


def only_params(items: Iterable[tuple[str, str]], names: Sequence[str], *, also: Iterable[str] = ()) -> None:
    """Refuse a parameter that is none of `names` (nor of `also`, accepted but not listed), naming
    it and what the page takes: a misspelt parameter would otherwise be silently ignored."""
    known = set(names) | set(also)
    for name, _ in items:
        if name not in known:
            takes = f"takes {', '.join(sorted(names))}" if names else "takes no parameters"
            raise ParamError(name[:64], f"unknown parameter (this page {takes})")


_MOST_DIGITS = 40      # more than any range a field declares
_NUMBERS: dict[Any, type] = {int: int, int | None: int, float: float, float | None: float}


def number(name: str, value: str, kind: type = int) -> int | float:
    """`value` read strictly as an int (ASCII digits, an optional minus) or a finite float (an
    ASCII decimal number); `ParamError` naming `name` otherwise."""
    if kind is int:
        if not _INT.fullmatch(value):
            raise ParamError(name, f"expected an integer (ASCII digits), got {shown(value)}")
        if len(value.lstrip("-0")) > _MOST_DIGITS:    # int() of over 4,300 digits raises ValueError
            raise ParamError(name, f"{shown(value)} is out of range (more than {_MOST_DIGITS} digits)")
        return int(value)
    if not _DECIMAL.fullmatch(value) or (result := finite(float(value))) is None:
        raise ParamError(name, f"expected a finite number (ASCII digits), got {shown(value)}")
    return result
