"""The one canonical binary encoding for everything that is hashed or signed.

Theory of operation: values are msgpack, always as arrays (never maps) in a fixed
field order, floats always float64, integers always in msgpack's shortest form,
strings UTF-8. With those rules an object has exactly one encoding, so a hash or
a signature over it is well defined. `decode` re-encodes what it read and refuses
the buffer if the bytes differ: a non-canonical encoding (a float32, a long form
integer, a map) is rejected instead of being accepted under a second hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgpack

from carbonlab.node.errors import SchemaError

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MSGPACK_MAX_DEPTH = 1024    # the unpacker's stack; deeper is its StackError


_SETTINGS: dict[str, Any] = {"use_bin_type": True, "use_single_float": False, "strict_types": False}


def encode(value: Any) -> bytes:
    """Canonical bytes of `value` (nested lists/tuples of int, float, str, bytes, bool, None)."""
    out: bytes = msgpack.packb(value, **_SETTINGS)
    return out


def encoder() -> Callable[[Any], bytes]:
    """`encode` as a packer's own method, for a caller encoding many values in a row (about
    three times faster per call than `encode`); one per caller and call, never shared
    between threads (a packer has a buffer)."""
    pack: Callable[[Any], bytes] = msgpack.Packer(**_SETTINGS).pack
    return pack


def decode(buf: bytes, what: str = "message", max_bytes: int = MAX_MESSAGE_BYTES, *,
           check: bool = True) -> Any:
    """Parse canonical bytes; raise SchemaError naming `what` if they are oversized or not canonical.

    `check=False` leaves the canonical check to the caller (`check_canonical`, or a check done
    piece by piece, as `Batch.decode` does): only for callers that then make it."""
    if len(buf) > max_bytes:
        raise SchemaError(what, f"{len(buf)} bytes exceeds the limit of {max_bytes}")
    try:
        value = msgpack.unpackb(
            buf, raw=False, use_list=True, strict_map_key=True, max_bin_len=max_bytes,
            max_str_len=max_bytes, max_array_len=1_000_000, max_map_len=0, ext_hook=_no_ext,
        )
    except (ValueError, TypeError) as exc:    # msgpack's errors (some with no text): each named
        raise SchemaError(what, f"not valid msgpack ({unpack_problem(exc)})") from None
    if check:
        check_canonical(value, buf, what)
    return value


class _ExtensionType(ValueError):
    pass


def _no_ext(code: int, data: bytes) -> Any:
    raise _ExtensionType(f"an extension type (code {code}, {len(data)} bytes), which no carbonlab value uses")


def unpack_problem(exc: Exception) -> str:
    """What is wrong with a buffer msgpack refused, in words, never empty: the exception's class
    and what it means (a FormatError or StackError has no text of its own)."""
    name = type(exc).__name__
    if isinstance(exc, msgpack.StackError):
        return f"{name}: arrays nested too deeply: msgpack's limit is {MSGPACK_MAX_DEPTH} levels"
    if isinstance(exc, msgpack.FormatError):     # the one type byte msgpack never uses
        return f"{name}: a reserved type byte (0xc1, never used in msgpack)"
    if isinstance(exc, msgpack.ExtraData):
        return f"{name}: {len(exc.extra)} bytes after the value"
    if isinstance(exc, UnicodeDecodeError):
        return f"{name}: a string is not UTF-8 ({exc.reason} at byte {exc.start} of the string)"
    if isinstance(exc, _ExtensionType):
        return str(exc)
    text = str(exc)
    if text == "Unpack failed: incomplete input":
        return f"{name}: the buffer ends inside a value (incomplete input)"
    return f"{name}: {text}" if text else name


def check_canonical(value: Any, buf: bytes, what: str) -> None:
    """Raise SchemaError naming `what` unless `buf` is the canonical encoding of `value`."""
    if encode(value) != buf:
        raise SchemaError(what, "not in canonical encoding")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def digest(value: Any) -> bytes:
    """SHA-256 of the canonical encoding."""
    return hashlib.sha256(encode(value)).digest()
