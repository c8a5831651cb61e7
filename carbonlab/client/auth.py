"""The organisation's token: made at provisioning, checked on every request.

The token is 32 random bytes (URL-safe base64) in a file of its own, mode 0600, in the lab
directory (never in the repository). `write_token` creates it atomically with those
permissions; `load_token` refuses a missing, empty or group/other-readable file, so a token
that leaked through permissions is not used silently.

`TokenGate` is plain ASGI middleware (it must not buffer the server-sent event streams): a
request passes when its `Authorization: Bearer <token>` header or its `carbonlab_token`
cookie equals the token (compared in constant time). The login form, the static files and
`/healthz` (which says only `{"ok": true}`) are open; everything else without the token is
401: an HTML page with the login form for a browser, JSON for anything else. The cookie is
HttpOnly and SameSite=Strict, so another site cannot make the browser use it (the actions'
forms are POSTs that rely on that).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from carbonlab.client import ClientError

COOKIE = "carbonlab_token"
OPEN_PATHS = ("/login", "/healthz")
OPEN_PREFIXES = ("/static/",)
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256


def write_token(path: Path) -> str:
    """Create `path` with a new token, mode 0600 from the start; an existing file is kept."""
    if path.exists():
        return load_token(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return token


def load_token(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ClientError(f"token file {path}: cannot read it ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ClientError(f"token file {path}: mode {stat.S_IMODE(mode):04o} lets others read it; "
                          "chmod 600 it")
    if not text or len(text) > MAX_TOKEN_CHARS or not text.isprintable() or " " in text:
        raise ClientError(f"token file {path}: expected one token of 1..{MAX_TOKEN_CHARS} printable "
                          "characters without spaces")
    return text


def matches(token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(token.encode(), given.encode())


def request_token(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    """(bearer, cookie) as the request carries them."""
    bearer = cookie = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                bearer = rest.strip()
        elif name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE:
                    cookie = val
    return bearer, cookie


class TokenGate:
    """ASGI middleware: 401 for every request without the token, but the open paths."""

    def __init__(self, app: Any, token: str, unauthorised: Any) -> None:
        self.app = app
        self.token = token
        self.unauthorised = unauthorised   # an ASGI app answering 401

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        bearer, cookie = request_token(scope)
        if matches(self.token, bearer) or matches(self.token, cookie):
            await self.app(scope, receive, send)
            return
        await self.unauthorised(scope, receive, send)

    @staticmethod
    def is_open(path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
