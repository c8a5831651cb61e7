"""HTTP errors of the node API: a status, a message, and the field it is about."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from carbonlab.node.errors import NodeError


class ApiError(NodeError):
    """Raised by a route for a request the client got wrong; becomes a 4xx JSON answer."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body: dict[str, Any] = {"error": exc.message}
    if exc.field is not None:
        body["field"] = exc.field
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


# what a number in a query or a path is: ASCII digits, an optional minus. int() alone also reads
# "+7", " 7 ", "7_000" and other scripts' digits ("٢٠٢٦"), so one value had many spellings
_INTEGER = re.compile(r"-?[0-9]{1,20}")


# every integer the API takes ends up compared with the ledger's, which SQLite holds in 64 bits:
# a larger one raised OverflowError in the query (HTTP 500)
_INT64 = range(-(2**63), 2**63)


def _int(raw: str, name: str) -> int:
    if not _INTEGER.fullmatch(raw):
        raise ApiError(400, f"{name}: expected an integer (ASCII digits, at most 20), got {raw[:80]!r}",
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
