"""Where `ledger verify --head` gets the consortium's signed head: a saved file or a member's API.

A URL with no path (`http://10.0.0.2:8080`) means that member's `GET /v1/head`. Every
failure (unreachable, an HTTP error, not JSON, not a signed head) is a one-line `HeadError`
naming the source and what was wrong; checking the head against genesis is the
verifier's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from carbonlab import jsonfile
from carbonlab.jsonfile import JsonFileError
from carbonlab.node.errors import SchemaError
from carbonlab.node.ledger.head import HeadError, SignedHead

TIMEOUT_S = 10.0


def is_url(source: str) -> bool:
    """Whether `--head` names a member's API (`http://`, `https://`) rather than a file
    (`urlsplit` would raise ValueError on `http://[::1`)."""
    return source.lower().startswith(("http://", "https://"))


def head_url(source: str) -> str:
    parts = urlsplit(source)
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1/head")
    return urlunsplit(parts)


def load_head(source: str) -> SignedHead:
    raw = _fetch(source) if is_url(source) else _read(Path(source))
    try:
        return SignedHead.from_json(raw)
    except SchemaError as exc:
        raise HeadError(f"--head {source}: not a signed head ({exc})") from None


def _read(path: Path) -> Any:
    try:
        return jsonfile.read(path)
    except JsonFileError as exc:
        raise HeadError(f"--head {exc}") from None


def _fetch(source: str) -> Any:
    """The member's answer, through the application modules' one GET (`apps.jsonfile.get`): a
    refusal is said in one line (the API's own error, or that a web page answered), never
    the page itself."""
    from carbonlab.apps.jsonfile import get

    url = head_url(source)
    with httpx.Client(timeout=TIMEOUT_S) as http:
        try:
            return get(http, "", url)
        except JsonFileError as exc:   # names the URL
            raise HeadError(f"--head {exc.problem}") from None
