"""Checks for decoded wire and JSON values; every failure names the field it is about.

These are the typed-schema primitives behind `Reading.from_wire`'s slow path, batches,
genesis, the PBFT message decoder and the ledger's rows. Each accepts exactly one Python
type (a bool is not an int, an int is accepted where a float is wanted) and raises
`error(field, problem)`.

`Checks(error)` binds them to a package's own error: node binds them to its `SchemaError`
(`node/schema.py`), so `except SchemaError` and `except NodeError` keep working where a
message is decoded; the default is the neutral `CheckError`. Config files use
`carbonlab.fields` instead (rules declared on dataclass fields); both sit at the top of the
tree and import no carbonlab package.

Rules every layer shares live here as plain functions: `control_problem` (no control
characters in text), `name_problem` (a name that becomes a file name: `SAFE_NAME`),
`url_problem` (an http(s) URL of a server: the gateway's `nodes`, the dashboards' URLs),
`finite` (a number, and an int too large for a float is not one: JSON and YAML integers have
no length limit, and `float()` and `math.isfinite` raise OverflowError on them, which was a
500), `shown` (a value echoed in an error message, cut to `ECHO_CHARS`) and `gist` (a server's
text, an error page, as one short line).
"""

from __future__ import annotations

import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

# C0 control characters but tab, line feed and carriage return, and DEL: no name, id or text
# of carbonlab's may hold one (XML 1.0, and so XLSX, cannot; a terminal or a PDF shows junk)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_problem(text: str) -> str | None:
    """Why `text` is refused for holding a control character, None when it holds none."""
    found = _CONTROL.search(text)
    return None if found is None else (f"contains a control character (U+{ord(found.group()):04X} "
                                       f"at position {found.start()})")


# a name that becomes a file or folder name (a service's pidfiles, a scenario's report folder):
# letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters; so
# never empty, never '.' or '..', never a path (no '/')
SAFE_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_SAFE_NAME = re.compile(SAFE_NAME)


def name_problem(text: str) -> str | None:
    """Why `text` is refused as a name that becomes a file name, None when it is a safe one."""
    if _SAFE_NAME.fullmatch(text):
        return None
    return (f"must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(it names files), got {shown(text)}")


def url_problem(text: str) -> str | None:
    """Why `text` is refused as an http(s) URL of a server (a node's API, Grafana, Prometheus),
    None when it is one: the scheme http or https, a host (an IPv4 address in range, a bracketed
    IPv6 address, or a name), a port 1..65535 when one is given, no space or control character.
    The one rule of the gateway's `nodes`, the dashboards' URLs and the apps' `--node`."""
    def bad(why: str) -> str:
        return f"invalid URL {shown(text)}: {why} (e.g. http://127.0.0.1:8080)"

    if not isinstance(text, str) or not text or any(ch.isspace() for ch in text) or control_problem(text):
        return bad("needs http:// or https:// and a host, and no space or control character")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:            # a port out of range or not a number, a bad [v6]
        return bad(str(exc))
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return bad("needs http:// or https:// and a host")
    if port == 0:
        return bad("the port must be 1..65535")
    if ":" in host or re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return bad(f"{shown(host)} is not an IP address")
    return None


def gist(text: str, limit: int = 120) -> str:
    """A server's text (an error page, an answer that is not JSON) as one short line for an error
    message: whitespace runs as one space, cut to `limit` characters; never the whole page."""
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[:limit]}... ({len(line)} characters)"


# what an error message echoes of a value at most (the node API's cut): a 5,000-digit parameter
# is named, not repeated
ECHO_CHARS = 80


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number (an int or a float, not a bool), else None.
    An int beyond a float's range (`10**400`) is not finite: `float()` would raise OverflowError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def shown(value: Any, limit: int = ECHO_CHARS) -> str:
    """`repr(value)` for an error message, at most about `limit` characters: a longer string is
    cut (its length said), an int of more than `limit` digits is only counted (`repr` of one over
    4,300 digits would itself raise ValueError)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3 * limit:
        return f"an integer of {_digits(value)} digits"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    try:
        text = repr(value)
    except ValueError:      # a list or dict holding an int of over 4,300 digits
        return f"a {type(value).__name__} holding an integer too long to show"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _digits(value: int) -> int:
    """The decimal digits of `value`, without converting it to text."""
    n = abs(value)
    digits = int(math.log10(n)) + 1
    while n >= 10 ** digits:        # log10 of a float may be off by one either way
        digits += 1
    while digits > 1 and n < 10 ** (digits - 1):
        digits -= 1
    return digits


class CheckError(ValueError):
    """Raised when a decoded value does not match its schema; the sender is at fault. `field` is
    the dotted path of the offending field (`batch.readings[3].co2_pct`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Checks:
    """The primitives, each raising `error(field, problem)` on a bad value."""

    def __init__(self, error: Callable[[str, str], Exception] = CheckError) -> None:
        self.error = error

    def as_str(self, value: Any, field: str, *, max_len: int = 256, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.error(field, f"expected a string, got {type(value).__name__}")
        if not value and not allow_empty:
            raise self.error(field, "must not be empty")
        if len(value) > max_len:
            raise self.error(field, f"longer than {max_len} characters")
        problem = control_problem(value)
        if problem is not None:
            raise self.error(field, problem)
        return value

    def as_int(self, value: Any, field: str, *, lo: int | None = None, hi: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(field, f"expected an integer, got {type(value).__name__}")
        if lo is not None and value < lo:
            raise self.error(field, f"{shown(value)} is below the minimum {lo}")
        if hi is not None and value > hi:
            raise self.error(field, f"{shown(value)} is above the maximum {hi}")
        return value

    def as_float(self, value: Any, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(field, f"expected a number, got {type(value).__name__}")
        result = finite(value)
        if result is None:
            raise self.error(field, "must be a finite number")
        return result

    def as_bool(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(field, f"expected true or false, got {type(value).__name__}")
        return value

    def as_bytes(self, value: Any, field: str, *, size: int | None = None, max_len: int = 1 << 20) -> bytes:
        if not isinstance(value, bytes):
            raise self.error(field, f"expected bytes, got {type(value).__name__}")
        if size is not None and len(value) != size:
            raise self.error(field, f"expected {size} bytes, got {len(value)}")
        if len(value) > max_len:
            raise self.error(field, f"longer than {max_len} bytes")
        return value

    def as_hex(self, value: Any, field: str, *, size: int | None = None,
               max_len: int = 1 << 16) -> bytes:
        text = self.as_str(value, field, max_len=max_len)
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise self.error(field, "expected a hexadecimal string") from None
        if size is not None and len(raw) != size:
            raise self.error(field, f"expected {size} bytes ({2 * size} hex digits), got {len(raw)}")
        return raw

    def as_list(self, value: Any, field: str, *, max_len: int = 100_000,
                length: int | None = None) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise self.error(field, f"expected a list, got {type(value).__name__}")
        if length is not None and len(value) != length:
            raise self.error(field, f"expected {length} items, got {len(value)}")
        if len(value) > max_len:
            raise self.error(field, f"more than {max_len} items")
        return list(value)

    def as_dict(self, value: Any, field: str, *, allowed: Sequence[str] | None = None,
                required: Sequence[str] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(field, f"expected an object, got {type(value).__name__}")
        if allowed is not None:
            unknown = sorted(set(value) - set(allowed))
            if unknown:
                raise self.error(f"{field}.{unknown[0]}", f"unknown field (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                raise self.error(f"{field}.{key}", "is required")
        return value

    def as_choice(self, value: Any, field: str, choices: Sequence[str]) -> str:
        text = self.as_str(value, field)
        if text not in choices:
            raise self.error(field, f"{shown(text)} is not one of {', '.join(choices)}")
        return text
