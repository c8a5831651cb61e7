"""Canonical JSON per RFC 8785 (JSON Canonicalization Scheme), implemented here in 60 lines.

Why not a package: the maintained PyPI implementation (`rfc8785`, Trail of Bits) would be a
new dependency for a scheme this small; this module follows the RFC section by section and
its tests run the RFC's own examples (Appendix B's numbers, section 3.2.2's object).

- Objects: members sorted by their names' UTF-16 code units (3.2.3); no whitespace.
- Strings: JSON.stringify's escaping (3.2.2.2): `\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, other
  controls below U+0020 as lowercase `\\u00xx`, everything else as UTF-8.
- Numbers: IEEE 754 doubles in ECMAScript's Number.prototype.toString form (3.2.2.3):
  the shortest digits that round-trip (Python's `repr` gives the same digits), placed by
  ECMA-262's rules; -0 is "0"; NaN and the infinities are refused. Integers must be exact
  doubles (|n| <= 2**53).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


class CanonicalJsonError(ValueError):
    """A value RFC 8785 cannot represent (NaN, infinity, an inexact integer, a non-JSON type);
    `path` names where it is."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def number(x: float) -> str:
    """ECMAScript's Number::toString(x) for a finite double."""
    if math.isnan(x) or math.isinf(x):
        raise CanonicalJsonError("$", f"{x!r} has no JSON form")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + number(-x)
    _, digits_t, exp = Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    assert isinstance(exp, int)
    k = len(digits)
    n = exp + len(digits_t)          # value = 0.digits * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _encode(value: Any, path: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > 2**53:
            raise CanonicalJsonError(path, f"integer {value} is not exact as an IEEE 754 double")
        out.append(number(float(value)))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJsonError(path, f"{value!r} has no JSON form")
        out.append(number(value))
    elif isinstance(value, str):
        out.append(string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, f"{path}[{i}]", out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key(path))):
            if i:
                out.append(",")
            out.append(string(key))
            out.append(":")
            _encode(value[key], f"{path}.{key}", out)
        out.append("}")
    else:
        raise CanonicalJsonError(path, f"a {type(value).__name__} is not a JSON value")


def _utf16_key(path: str) -> Any:
    def key(name: Any) -> bytes:
        if not isinstance(name, str):
            raise CanonicalJsonError(path, f"object key {name!r} is not a string")
        return name.encode("utf-16-be", "surrogatepass")
    return key


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool,
    None)."""
    out: list[str] = []
    _encode(value, "$", out)
    return "".join(out).encode("utf-8")
