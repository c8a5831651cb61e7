"""Hostile raw HTTP to the console's real app on hypercorn's asyncio worker (its own settings,
`serve.hypercorn_config`), found by an outside tester: stalled bodies held a connection for ever,
an oversize declared body was waited for, and a client leaving mid-body was an ERROR traceback.
The member's node is a closed port (nothing here reaches it). Nothing is timed: a server that
keeps a connection fails by the socket's generous timeout."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypercorn.asyncio import serve

from carbonlab.asgi import DRAIN_MAX_BYTES
from carbonlab.bench.localcluster import LocalCluster
from carbonlab.client.app import build_app
from carbonlab.client.appviews import state
from carbonlab.client.context import Console
from carbonlab.client.nodeapi import NodeApi
from carbonlab.client.serve import hypercorn_config
from carbonlab.loopback import free_loopback_ports
from tests.unit.node.api.apiserver import answers, exchange, logged

pytestmark = pytest.mark.timeout(180)
TOKEN = "t0ken"


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    root: Path = tmp_path_factory.mktemp("console")
    cluster = LocalCluster.create(root / "c", 4, gateways=2, companies=True)   # never started
    member = next(m for m in cluster.genesis.members if m.id == "n1")
    port, node_port = free_loopback_ports(2)
    console = Console(NodeApi(f"http://127.0.0.1:{node_port}", timeout_s=2.0), cluster.genesis, member,
                      refresh_s=1.0)
    app = build_app(console, TOKEN, body_timeout_s=1.0)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def run() -> None:
        async def trigger() -> None:
            started.set()
            await stop.wait()
        await serve(app, hypercorn_config(f"127.0.0.1:{port}"), shutdown_trigger=trigger)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        assert started.wait(30), "the console did not start"
        for _ in range(200):                 # bound once the trigger runs: wait for the socket
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
        state(console).reports.close()


def _head(path: str, length: int, content_type: str = "application/x-www-form-urlencoded") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Accept: application/json\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


@pytest.mark.parametrize(("path", "content_type"), [
    ("/login", "application/x-www-form-urlencoded"),
    ("/reports/verify", "multipart/form-data; boundary=b"),
])
def test_a_stalled_body_is_answered_408_and_the_connection_closed(port: int, path: str,
                                                                   content_type: str) -> None:
    """D7: Content-Length 100, 5 bytes, then nothing: the connection was held for ever."""
    (status, headers, body), = answers(exchange(port, _head(path, 100, content_type) + b"token"))
    assert status == 408
    assert headers[b"connection"] == b"close"
    assert json.loads(body)["field"] == "body"


@pytest.mark.parametrize("length", [70_000, 5 * 1024 * 1024])
def test_a_declared_body_over_the_cap_is_refused_at_once(port: int, length: int) -> None:
    """D7: Content-Length 70,000 over the form's 64 KB cap, 2 bytes sent: the console waited for
    the rest (and would now have answered 408 after its body timeout, not 413). The 413 comes at
    once; the guard then reads the rest of a body up to 4 MiB (the connection is kept: here closed
    by the body timeout, the rest never coming) and says `Connection: close` for a larger one."""
    (status, headers, body), = answers(exchange(port, _head("/reports/build", length) + b"ab"))
    assert status == 413
    assert headers.get(b"connection") == (b"close" if length > DRAIN_MAX_BYTES else None)
    assert json.loads(body)["field"] == "body"


def test_a_client_leaving_mid_body_is_no_error_in_the_log(port: int) -> None:
    """D8: appforms.read_body raised ClientDisconnect into hypercorn: an ERROR with a traceback."""
    with logged() as log:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(_head("/reports/verify", 10_000, "multipart/form-data; boundary=b") + b"--b\r\n")
        assert log.seen.wait(60), "the guard never saw the client leave"
    assert log.errors() == []


_PIPELINED = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize(("token", "status"), [(True, 413), (False, 401)], ids=["over-form-cap", "no-token"])
@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_request_pipelined_behind_an_early_answer_is_answered(port: int, token: bool, status: int,
                                                                framing: str) -> None:
    """An outsider's re-test: a chunked body, or one over 64 KiB, answered from the head (401
    without the token, 413 over a form's cap) said `Connection: close`, and the request pipelined
    behind it was lost (on the node's trio worker the answer itself was cut). The guard reads the
    rest, up to 4 MiB, and keeps the connection."""
    body = b"a=" + b"x" * 99_998
    head = (b"POST /reports/build HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n")
    if token:
        head += f"Authorization: Bearer {TOKEN}\r\n".encode()
    if framing == "chunked":
        chunks = (body[i:i + 4096] for i in range(0, len(body), 4096))
        raw = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
            b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    else:
        raw = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    with logged() as log:
        for _ in range(3):
            got = answers(exchange(port, raw + _PIPELINED))
            assert [s for s, _, _ in got] == [status, 200]
            assert b"connection" not in got[0][1]
            assert json.loads(got[1][2]) == {"ok": True}
    assert log.errors() == []
