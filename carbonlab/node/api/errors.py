"""HTTP errors of the node API: a status, a message, and the field it is about.

Every 4xx of the API's own, an unknown route (404) and a wrong method (405) too, is one JSON
shape, `{"error", "field"}`. A message echoes what the client sent, and the client decides its
length (a 15,000-character `meter`, a 4,000-digit `batch_seq`): `ApiError` cuts every message
to `MAX_MESSAGE_CHARS` and every field to `MAX_FIELD_CHARS` where it is made, so no route, nor
an error of a layer below it passed on (`SchemaError`, `FilterError`, `LedgerError`), can
answer with more. Values a route names are cut before that by `carbonlab.checks.shown`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from carbonlab.checks import shown
from carbonlab.node.errors import NodeError

MAX_FIELD_CHARS = 120       # a field path (keys of the client's JSON, parameter names)
MAX_MESSAGE_CHARS = 400     # a whole message; the longest of the API's own words is ~250


def clipped(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class ApiError(NodeError):
    """Raised by a route for a request the client got wrong; becomes a 4xx JSON answer (the
    message and field cut to `MAX_MESSAGE_CHARS` and `MAX_FIELD_CHARS`)."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        message = clipped(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = None if field is None else clipped(field, MAX_FIELD_CHARS)
        self.headers = headers or {}


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body: dict[str, Any] = {"error": exc.message}
    if exc.field is not None:
        body["field"] = exc.field
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 (no such route) and 405 (a method the route does not take) in the
    API's shape; the 405 keeps its `Allow` header."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError(404, f"path: no route {shown(request.url.path)} (see /openapi.json)", "path")
    elif exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        error = ApiError(405, f"method: {shown(request.method)} is not allowed here (allowed: {allow})",
                         "method", dict(exc.headers or {}))
    else:
        error = ApiError(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))
    return await api_error_handler(request, error)


# what the API's Starlette app is built with
EXCEPTION_HANDLERS: dict[Any, Any] = {ApiError: api_error_handler, HTTPException: http_error_handler}


# what a number in a query or a path is: ASCII digits, an optional minus. int() alone also reads
# "+7", " 7 ", "7_000" and other scripts' digits ("٢٠٢٦"), so one value had many spellings
_INTEGER = re.compile(r"-?[0-9]{1,20}")


# every integer the API takes ends up compared with the ledger's, which SQLite holds in 64 bits:
# a larger one raised OverflowError in the query (HTTP 500)
_INT64 = range(-(2**63), 2**63)


def _int(raw: str, name: str) -> int:
    if not _INTEGER.fullmatch(raw):
        raise ApiError(400, f"{name}: expected an integer (ASCII digits, at most 20), got {shown(raw)}",
                       name)
    value = int(raw)
    if value not in _INT64:
        raise ApiError(400, f"{name}: {raw} is outside the 64-bit range of the ledger's integers", name)
    return value


def query_int(request: Request, name: str, *, default: int | None = None, lo: int | None = None,
              hi: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = _int(raw, name)
    if lo is not None and value < lo:
        bound = f"outside {lo}..{hi}" if hi is not None else f"below {lo}"
        raise ApiError(400, f"{name}: {value} is {bound}", name)
    if hi is not None and value > hi:
        bound = f"outside {lo}..{hi}" if lo is not None else f"above {hi}"
        raise ApiError(400, f"{name}: {value} is {bound}", name)
    return value


def path_int(request: Request, name: str) -> int:
    value = _int(request.path_params[name], name)
    if value < 0:
        raise ApiError(400, f"{name}: must not be negative", name)
    return value


def only_params(request: Request, allowed: tuple[str, ...]) -> None:
    """Refuse a parameter the route does not read (a misspelt filter would answer for
    everything) and one given twice (which one counts would be a guess)."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in allowed:
            reads = f"reads {', '.join(allowed)}" if allowed else "takes no parameters"
            raise ApiError(400, f"{name[:64]}: unknown parameter (this route {reads})", name[:64])
        if name in seen:
            raise ApiError(400, f"{name}: given more than once", name)
        seen.add(name)
