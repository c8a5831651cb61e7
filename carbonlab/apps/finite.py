"""The last check before an application's answer is printed: every figure in it is finite.

Each input has a bound (prices, tonnes, rates, coefficients), chosen so that no sum or product
of the models overflows. This guard is the net under them: an answer holding `inf` or `NaN`
would print a meaningless figure, and `json.dumps` writes `Infinity`, which is not JSON
(RFC 8259). It walks dataclasses, mappings and sequences and raises an `AppsError` naming the
first non-finite field (`result.cost`), so the command exits 2 instead of printing it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from carbonlab.apps.errors import AppsError


class NonFiniteError(AppsError, ValueError):
    """An answer holds inf or NaN: an input out of any sane magnitude got past its bound (our
    fault for a missing bound, the input's for its size). `field` is the answer's dotted path."""

    def __init__(self, field: str, value: float) -> None:
        super().__init__(f"{field}: the answer is not a finite number ({value}): an input's magnitude "
                         "is beyond what the model computes; check the options and files for absurd values")
        self.field = field


def _first(value: Any, path: str) -> tuple[str, float] | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: Any = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    elif isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        found = _first(item, f"{path}{key}" if str(key).startswith("[") else f"{path}.{key}")
        if found is not None:
            return found
    return None


def check_finite(answer: Any, name: str = "answer") -> None:
    """Raise `NonFiniteError` naming the first float in `answer` that is inf or NaN."""
    found = _first(answer, name)
    if found is not None:
        raise NonFiniteError(*found)
