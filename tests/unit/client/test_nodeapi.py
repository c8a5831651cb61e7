"""The console's client of its member's API against a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import json
import random
import time
from http.server import BaseHTTPRequestHandler

import anyio
import pytest

from carbonlab.client.nodeapi import NodeApi, NodeDown
from tests.recording_http import serve


def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):   # the console gave up on it
        handler.wfile.write(body)


class SlowJson(BaseHTTPRequestHandler):
    """Answers every GET with a small JSON object after a short pause (a busy member)."""

    def do_GET(self) -> None:
        time.sleep(0.02)
        answer(self, json.dumps({"ok": True}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.timeout(120)
def test_calls_cancelled_midway_do_not_wedge_the_link_to_the_node() -> None:
    """Found by the outsider probe: every page view or live stream a browser leaves mid-call
    cancels the node call; httpcore's pool kept each connection cancelled while connecting as
    'CONNECTING' forever, and after 100 of them every call timed out ('node does not answer')
    until the console was restarted, while the node was fine."""

    async def main() -> None:
        api = NodeApi(url, timeout_s=5.0)
        rng = random.Random(16)

        async def caller(deadline: float) -> None:
            with anyio.move_on_after(deadline):
                while True:
                    await api.get_json("/v1/x")

        try:
            for _ in range(3):                 # a few calls each round are cancelled while connecting
                async with anyio.create_task_group() as tg:
                    for _ in range(300):
                        tg.start_soon(caller, rng.uniform(0.01, 1.0))
            # the calls left behind finish within their timeouts; a wedged pool never serves again
            answers = []
            for _ in range(6):
                try:
                    answers.append(await api.get_json("/v1/x"))
                    break
                except NodeDown as exc:
                    answers.append(str(exc))
            assert answers[-1] == {"ok": True}, answers
        finally:
            await api.aclose()

    with serve(SlowJson) as url:
        anyio.run(main)


GARBAGE = [b"[]", b"null", b'"x"', b"{}", b'{"members": "x"}', b'{"filter": 1}', b'{"height": "NaN"}',
           b'{"readings": [1], "limit": "x"}', b'{"readings": [], "limit": "x"}', b'{"blocks": [{}]}']


class Garbage(BaseHTTPRequestHandler):
    """A member (or something in between) answering 200 with JSON that is not what the API says."""

    def do_GET(self) -> None:
        answer(self, GARBAGE[int(self.path.rsplit("g=", 1)[-1])] if "g=" in self.path else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.timeout(60)
@pytest.mark.parametrize("which", range(len(GARBAGE)))
def test_an_answer_that_does_not_follow_the_api_is_node_down(which: int) -> None:
    """Found by the outsider probe: a garbage answer to /v1/emissions/structure was a KeyError
    (a 500 of the structure page), not the page's node-error banner."""

    async def main() -> None:
        api = NodeApi(url, timeout_s=5.0)
        g = {"g": str(which)}
        try:
            for call in (api.peers, api.head, lambda: api.emissions_query(g),
                         lambda: api.emissions_structure(g), lambda: api.readings(**g),
                         lambda: api.rejections(), lambda: api.blocks(1, 2), lambda: api.block(1)):
                with contextlib.suppress(NodeDown):    # anything else escaped as a 500
                    await call()
        finally:
            await api.aclose()

    with serve(Garbage) as url:
        anyio.run(main)
