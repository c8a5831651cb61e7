"""Reading a JSON request body safely: media type, size, nesting depth, then parsing.

Theory of operation. A body is refused as early as what is wrong with it can be known,
so a hostile client costs the node as little as possible: a wrong `Content-Type` (415)
before anything is read; a declared `Content-Length` above the limit (413) before
anything is read; a chunked or undeclared body is read chunk by chunk and refused (413)
the moment it passes the limit, so at most the limit plus one chunk is ever held.
Python's `json` module parses nested arrays and objects recursively and raises
`RecursionError` near the interpreter's stack limit; the nesting depth is therefore
measured first, without recursion (strings removed by one regular expression, then a
running sum over the brackets left), and a body nested deeper than `MAX_JSON_DEPTH` is a
400 naming the limit. A batch needs depth 3. An integer literal longer than Python's
int-conversion limit (4300 digits) is a `ValueError` from the parser too: a 400, not a crash.

JSON may escape a lone UTF-16 surrogate (`"\\ud800"`); Python's parser turns it into a `str`
that no UTF-8 encoder takes, so it would crash whatever encodes it later (signing bytes, the
ledger, the answer naming it). Only an escape can make one (raw UTF-8 cannot encode a
surrogate), so a body whose bytes hold no `\\uD8..`-`\\uDF..` escape is not walked; one that
does is walked once, and a lone surrogate is a 400 naming the field (`record.body.company`).
A key given twice in one object (`{"quantity_t": 3, "quantity_t": 5}`: the parser would keep
the last, and which one a proxy or a signer meant is a guess) is a 400 naming it; the parser's
`object_pairs_hook` marks such an object, and only then is the body walked for its path.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from starlette.requests import Request

from carbonlab.node.api.errors import ApiError
from carbonlab.node.model import BATCH_MEDIA_TYPE

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 32
JSON_MEDIA_TYPE = "application/json"

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


__all__ = ["BATCH_MEDIA_TYPE", "check_media_type", "read_json", "read_limited"]


def check_media_type(request: Request, also: str | None = None) -> str:
    """The body's media type: JSON (UTF-8), or `also` where the route takes another; else 415."""
    raw = request.headers.get("content-type")
    wanted = JSON_MEDIA_TYPE if also is None else f"{JSON_MEDIA_TYPE} or {also}"
    if raw is None:
        raise ApiError(415, f"content-type: missing; send the body as {wanted}", "content-type")
    media, *params = (part.strip().lower() for part in raw.split(";"))
    if also is not None and media == also and not params:
        return media
    charset = next((p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")), "utf-8")
    if media != JSON_MEDIA_TYPE or charset not in ("utf-8", "utf8"):
        raise ApiError(415, f"content-type: {raw!r} is not {wanted}" + (" (UTF-8)" if also is None else ""),
                       "content-type")
    return media


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body: Content-Length {declared} bytes exceeds {limit}", "body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body: more than {limit} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body` (0 for a scalar), without recursion."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _is_lone(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Twice(dict[str, Any]):
    """A parsed object in which `key` was given more than once (the parser kept the last)."""
    key = ""


def _pairs(seen: list[bool]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        keys = [k for k, _ in pairs]
        twice = _Twice(obj)
        twice.key = next(k for i, k in enumerate(keys) if k in keys[:i])
        seen[0] = True
        return twice
    return hook


def _shown(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def first_bad(value: Any, root: str, *, surrogates: bool, twice: bool) -> tuple[str, str] | None:
    """The dotted path of the first string or key holding a lone surrogate, or of a key given
    twice in one object, with what is wrong; None if neither."""
    stack: list[tuple[str, Any]] = [(root, value)]
    while stack:
        path, item = stack.pop()
        if surrogates and isinstance(item, str) and _is_lone(item):
            return path, _LONE
        if isinstance(item, dict):
            if twice and isinstance(item, _Twice):
                return f"{path}.{_shown(item.key)}", "given more than once in one object"
            for key, sub in item.items():
                if surrogates and _is_lone(key):
                    return f"{path}.{_shown(key)}", _LONE
                stack.append((f"{path}.{_shown(key)}", sub))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", sub) for i, sub in enumerate(item))
    return None


_LONE = "holds a lone surrogate (\\ud800-\\udfff escaped alone), which is not a Unicode character"


async def read_json(request: Request, root: str = "body", *, checked: bool = False) -> Any:
    """The request's JSON body, or an `ApiError` (400, 413, 415) naming what is wrong; `root` is
    the name of the body's top value in a field path (`record`, `batch`); `checked`: the caller
    has already taken the media type as JSON."""
    if not checked:
        check_media_type(request)
    body = await read_limited(request)
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"body: JSON nested {depth} levels deep; the limit is {MAX_JSON_DEPTH}", "body")
    twice = [False]
    try:
        value = json.loads(body, object_pairs_hook=_pairs(twice))
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError, an integer over 4300 digits
        raise ApiError(400, f"body: not valid JSON ({exc})", "body") from None
    surrogates = _SURROGATE_ESCAPE.search(body) is not None
    bad = first_bad(value, root, surrogates=surrogates, twice=twice[0]) if surrogates or twice[0] else None
    if bad is not None:
        raise ApiError(400, f"{bad[0]}: {bad[1]}", bad[0])
    return value
