"""`apps.jsonfile.get` against a real HTTP server: a refusal is said in one short line, never
a whole web page (a console's login page when `--node` names the console's port)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from carbonlab.apps import jsonfile
from carbonlab.jsonfile import JsonFileError
from tests.recording_http import serve

PAGE = b"<!doctype html><html><body>" + b"<p>log in</p>" * 500 + b"</body></html>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/page"):
            status, kind, body = 401, "text/html; charset=utf-8", PAGE
        else:
            status, kind, body = 400, "application/json", b'{"error": "since: not a time", "field": "since"}'
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    with serve(_Handler) as url:
        yield url


def test_a_web_page_refusal_is_a_hint_not_the_page(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=5) as http, pytest.raises(JsonFileError) as caught:
        jsonfile.get(http, base_url, "/page")
    message = str(caught.value)
    assert message == (f"{base_url}/page: HTTP 401 (a web page, not a member's API: is this the "
                       "member API's address?)")
    assert "<" not in message


def test_an_api_refusal_says_the_api_s_own_words(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=5) as http, pytest.raises(JsonFileError) as caught:
        jsonfile.get(http, base_url, "/v1/emissions")
    assert str(caught.value) == f"{base_url}/v1/emissions: HTTP 400: since: not a time"
