"""A page's query parameters, read into a frozen dataclass declared with `carbonlab.fields`.

A page declares its parameters once, as a dataclass whose fields carry their rules
(`spec(lo=, hi=, pattern=, choices=)`); `read_params` refuses a parameter given twice, an
unknown one, one longer than `MAX_PARAM_CHARS`, and anything the field's rule refuses, with
a `ParamError` naming the parameter (the app answers 400 with that name). An int field
takes decimal digits only; everything else arrives as the string it was.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from carbonlab.client import ParamError
from carbonlab.fields import spec

T = TypeVar("T")
MAX_PARAM_CHARS = 200
_INT = re.compile(r"-?[0-9]{1,18}")
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


def read_params(cls: type[T], items: Iterable[tuple[str, str]], *, extra: Iterable[str] = ()) -> T:
    """`cls` from a query string's (name, value) pairs; `extra` names are accepted and ignored."""
    from carbonlab import fields

    hints = typing.get_type_hints(cls)
    ignored = set(extra)
    raw: dict[str, Any] = {}
    for name, value in items:
        if name in ignored:
            continue
        if name in raw:
            raise ParamError(name, "given more than once")
        if len(value) > MAX_PARAM_CHARS:
            raise ParamError(name, f"longer than {MAX_PARAM_CHARS} characters")
        if value == "":
            continue            # an empty form field is the same as none
        kind = hints.get(name)
        if kind in (int, int | None):
            if not _INT.fullmatch(value):
                raise ParamError(name, f"expected an integer, got {value!r}")
            raw[name] = int(value)
        else:
            raw[name] = value
    try:
        return fields.build(cls, raw, file="query")
    except fields.FieldError as exc:
        raise ParamError(exc.field, exc.problem) from None
