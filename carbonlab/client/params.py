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
from typing import Any, TypeVar

from carbonlab.client import ParamError

T = TypeVar("T")
MAX_PARAM_CHARS = 200
_INT = re.compile(r"-?[0-9]{1,18}")
IDENT = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"   # a genesis id: company, plant, unit, meter


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
