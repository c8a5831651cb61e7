"""Reading a JSON request body safely: media type, size, nesting depth, then parsing.

Theory of operation. A body is refused as early as what is wrong with it can be known,
so a hostile client costs the node as little as possible: a wrong `Content-Type` (415)
before anything is read; a declared `Content-Length` above the limit (413) before
anything is read; a chunked or undeclared body is read chunk by chunk and refused (413)
the moment it passes the limit, so at most the limit plus one chunk is ever held.
Python's `json` module parses nested arrays and objects recursively and raises
`RecursionError` near the interpreter's stack limit, and what reads a body later may recurse
too; a body nested deeper than `MAX_JSON_DEPTH` is therefore a 400 naming the limit, found
before parsing by `nests_deeper` in a few passes of C-speed `bytes` methods over the body
(escapes and strings removed, then innermost bracket pairs removed once per level allowed),
so its cost is linear in the body whatever the body is. (A regular expression for the strings
was re-scanned from every quote of an unterminated string of escaped quotes: quadratic, 5 s
for 40 KB, on the loop that also runs consensus.) A batch needs depth 3. An integer literal
longer than Python's int-conversion limit (4300 digits) is a `ValueError` from the parser too:
a 400, not a crash.

JSON may escape a lone UTF-16 surrogate (`"\\ud800"`); Python's parser turns it into a `str`
that no UTF-8 encoder takes, so it would crash whatever encodes it later (signing bytes, the
ledger, the answer naming it). Only an escape can make one (raw UTF-8 cannot encode a
surrogate), so a body whose bytes hold no `\\uD8..`-`\\uDF..` escape is not walked; one that
does is walked once, and a lone surrogate is a 400 naming the field (`record.body.company`).
A key given twice in one object (`{"quantity_t": 3, "quantity_t": 5}`: the parser would keep
the last, and which one a proxy or a signer meant is a guess) is a 400 naming it; the parser's
`object_pairs_hook` marks such an object (a set of the keys: linear), and only then is the
body walked for its path. A body over `INLINE_PARSE_BYTES` is parsed and walked in a worker
thread, so the event loop (and consensus on it) keeps running while a 4 MB body is parsed.
"""

from __future__ import annotations

import json
import re
from contextlib import aclosing
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from carbonlab.checks import shown
from carbonlab.jsonfile import parser_problem
from carbonlab.node.api.errors import ApiError
from carbonlab.node.model import BATCH_MEDIA_TYPE

_LENGTH = re.compile(r"[0-9]{1,20}")   # a Content-Length int() may take (h11 checks it too)

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 32
JSON_MEDIA_TYPE = "application/json"

INLINE_PARSE_BYTES = 64 * 1024

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
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
        utf8 = " (UTF-8)" if also is None else ""
        raise ApiError(415, f"content-type: {shown(raw)} is not {wanted}{utf8}", "content-type")
    return media


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and _LENGTH.fullmatch(declared) and int(declared) > limit:
        raise ApiError(413, f"body: Content-Length {declared} bytes exceeds {limit}", "body")
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:    # closed when refused mid-way (trio warns)
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"body: more than {limit} bytes", "body")
            chunks.append(chunk)
    return b"".join(chunks)


def nests_deeper(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in the JSON text `body` nest more than `limit` deep (brackets
    inside strings do not count). Linear in `len(body)`: at most `limit` + 4 passes of `bytes`
    methods, no regular expression, no loop over the bytes in Python."""
    # a run of backslashes is escaped pairs from its start, so dropping `\\` pairs then `\"`
    # leaves every remaining quote a string's start or end
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(plain.split(b'"')[::2]).translate(_AS_SQUARE, _NOT_BRACKETS)
    for _ in range(limit):          # each pass removes the innermost pairs: one level
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            break
        brackets = inner
    # a pair left after `limit` passes was nested deeper; so is a run of more than `limit`
    # openers never closed (the parser would recurse into them before finding out)
    return b"[]" in brackets or brackets.count(b"[") > limit


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
        twice = _Twice(obj)
        twice.key = first_repeated(k for k, _ in pairs)
        seen[0] = True
        return twice
    return hook


def first_repeated(keys: Any) -> str:
    """The first key that was given before (one pass, a set: a list scanned per key was
    quadratic, 4 s for 30,000 keys)."""
    before: set[str] = set()
    for key in keys:
        if key in before:
            return str(key)
        before.add(key)
    return ""


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
    if len(body) <= INLINE_PARSE_BYTES:
        return parse_json(body, root)
    return await run_in_threadpool(parse_json, body, root)


def parse_json(body: bytes, root: str) -> Any:
    """The JSON value of `body`, or an `ApiError` (400) naming what is wrong; no I/O, linear in
    the body's length."""
    if nests_deeper(body, MAX_JSON_DEPTH):
        raise ApiError(400, f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep (the limit is "
                            f"{MAX_JSON_DEPTH})", "body")
    twice = [False]
    try:
        value = json.loads(body, object_pairs_hook=_pairs(twice))
    except ValueError as exc:   # JSONDecodeError, UnicodeDecodeError, an integer over 4300 digits
        raise ApiError(400, f"body: not valid JSON ({parser_problem(exc)})", "body") from None
    except RecursionError:      # not expected past nests_deeper; a 400 all the same, not a 500
        raise ApiError(400, f"body: JSON nested too deeply (the limit is {MAX_JSON_DEPTH})", "body") from None
    surrogates = _SURROGATE_ESCAPE.search(body) is not None
    bad = first_bad(value, root, surrogates=surrogates, twice=twice[0]) if surrogates or twice[0] else None
    if bad is not None:
        raise ApiError(400, f"{bad[0]}: {bad[1]}", bad[0])
    return value
