"""`BodyGuard` on a real hypercorn server (asyncio worker), over raw sockets: a response sent
before a large request body arrived says `Connection: close` (the client opens a new connection
for its next request instead of losing it on one hypercorn is closing); one sent before a small
body arrived waits for it and keeps the connection; a response after the whole body, or to a
request without one, keeps the connection for the next request. The trio worker's side (the
node's API) is in tests/unit/node/api/test_api_hostile_http.py; an answer ended while a client
still pushes its body is tested on both workers here."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import h11
import hypercorn.asyncio.tcp_server
import hypercorn.trio.tcp_server
import pytest
import trio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.trio import serve as trio_serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carbonlab.asgi import DRAIN_MAX_BYTES, READ_AHEAD_BYTES, BodyGuard

pytestmark = pytest.mark.timeout(60)


async def refuse(request: Request) -> Response:               # answers from the head alone
    return JSONResponse({"error": "token: missing", "field": "token"}, status_code=401)


async def echo(request: Request) -> Response:                 # reads the body first
    return JSONResponse({"got": len(await request.body())})


def _app(wrapped: bool) -> Any:
    app = Starlette(routes=[Route("/refuse", refuse, methods=["GET", "POST"]),
                            Route("/echo", echo, methods=["GET", "POST"])])
    return BodyGuard(app) if wrapped else app


@pytest.fixture(params=[True, False], ids=["with-middleware", "bare-hypercorn"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, bool]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def run() -> None:
        async def trigger() -> None:
            ready.set()
            await stop.wait()
        await serve(_app(request.param), config, shutdown_trigger=trigger)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(10), "hypercorn did not start"
        for _ in range(100):                                   # the socket is bound after the trigger starts
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        yield port, request.param
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


class Conn:
    """One keep-alive connection driven event by event."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.h11 = h11.Connection(h11.CLIENT)

    def send(self, event: Any) -> None:
        self.sock.sendall(self.h11.send(event) or b"")

    def head(self, method: str, path: str, body_len: int) -> None:
        headers = [("host", "test")] + ([("content-length", str(body_len))] if body_len else [])
        self.send(h11.Request(method=method, target=path, headers=headers))
        if not body_len:
            self.send(h11.EndOfMessage())

    def response(self) -> tuple[int, dict[bytes, bytes]] | None:
        """The next response's status and headers, read to its end; None if the server closed."""
        status: tuple[int, dict[bytes, bytes]] | None = None
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code, {k.lower(): v for k, v in event.headers}
            elif isinstance(event, h11.EndOfMessage):
                return status
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def close(self) -> None:
        self.sock.close()


def test_a_refusal_before_a_large_body_arrived_says_connection_close(server: tuple[int, bool]) -> None:
    port, wrapped = server
    conn = Conn(port)
    try:
        conn.head("POST", "/refuse", DRAIN_MAX_BYTES + 10)     # the head only: the body comes later
        got = conn.response()
        assert got is not None
        assert got[0] == 401
        with contextlib.suppress(OSError):                     # some body, late (the server may have
            conn.send(h11.Data(data=b"0123456789"))            # closed already: a broken pipe here)
        if wrapped:
            assert got[1].get(b"connection") == b"close", got[1]
        else:                                                  # what the middleware is for: hypercorn
            assert b"connection" not in got[1]                 # closes such a connection unannounced
        conn.sock.settimeout(5)
        try:
            rest = conn.sock.recv(1)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", "the server keeps a connection whose body came late"
    finally:
        conn.close()


def test_a_connection_stays_open_after_a_read_body_or_no_body(server: tuple[int, bool]) -> None:
    port, _ = server
    conn = Conn(port)
    try:
        for _ in range(3):
            conn.head("POST", "/echo", 4)
            conn.send(h11.Data(data=b"abcd"))
            conn.send(h11.EndOfMessage())
            got = conn.response()
            assert got is not None
            assert got[0] == 200
            assert b"connection" not in got[1]
            conn.h11.start_next_cycle()
            conn.head("GET", "/refuse", 0)                     # refused, but there is no body to wait for
            got = conn.response()
            assert got is not None
            assert got[0] == 401
            assert b"connection" not in got[1]
            conn.h11.start_next_cycle()
    finally:
        conn.close()


def test_a_refusal_before_a_small_body_arrived_keeps_the_connection(server: tuple[int, bool]) -> None:
    port, wrapped = server
    if not wrapped:
        pytest.skip("the guard's behaviour: bare hypercorn closes the connection unannounced")
    conn = Conn(port)
    try:
        conn.head("POST", "/refuse", 10)                       # the head only: the body comes later
        got = conn.response()
        assert got is not None
        assert got[0] == 401
        assert b"connection" not in got[1]
        conn.send(h11.Data(data=b"0123456789"))                # read and dropped by the guard
        conn.send(h11.EndOfMessage())
        conn.h11.start_next_cycle()
        conn.head("POST", "/echo", 4)                          # the same connection goes on
        conn.send(h11.Data(data=b"abcd"))
        conn.send(h11.EndOfMessage())
        got = conn.response()
        assert got is not None
        assert got[0] == 200
    finally:
        conn.close()


def test_hypercorn_reads_ahead_of_the_app_as_the_guard_assumes() -> None:
    """The guard's `Connection: close` is safe only for a body whose unread rest is longer than
    hypercorn's reader can get ahead of the app (carbonlab/asgi.py's theory): its queue of body
    messages and the size of one read. A hypercorn that changed them fails here."""
    assert Config().max_app_queue_size == 10
    assert hypercorn.trio.tcp_server.MAX_RECV == hypercorn.asyncio.tcp_server.MAX_RECV == 64 * 1024
    assert DRAIN_MAX_BYTES >= READ_AHEAD_BYTES
    with pytest.raises(ValueError, match="below"):
        BodyGuard(_app(False), drain_max_bytes=READ_AHEAD_BYTES - 1)


@contextlib.contextmanager
def _trio_server(app: Any) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    box: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            box["token"] = trio.lowlevel.current_trio_token()
            box["cancel"] = nursery.cancel_scope.cancel
            await nursery.start(lambda task_status: trio_serve(app, config, task_status=task_status))
            ready.set()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "hypercorn (trio) did not start"
        yield port
    finally:
        if "token" in box:
            trio.from_thread.run_sync(box["cancel"], trio_token=box["token"])
        thread.join(30)


@contextlib.contextmanager
def _asyncio_server(app: Any) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        async def trigger() -> None:
            await stop.wait()
        await serve(app, config, shutdown_trigger=trigger)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("worker", ["trio", "asyncio"])
def test_an_answer_ended_while_the_client_pushes_its_body_closes_the_connection(worker: str) -> None:
    """A route that answers without reading, after a client has filled hypercorn's queue of body
    messages and every socket buffer (a 64 MiB declared body): hypercorn ends the stream by
    queueing `http.disconnect` behind those messages, which nobody read, and the connection and
    the app's task hung for ever after a complete answer. The guard says `Connection: close`
    (the unread rest is over its cap) and takes the queued messages while the answer ends."""
    gate = threading.Event()

    async def refuse_later(request: Request) -> Response:
        await anyio.to_thread.run_sync(gate.wait, 60)
        return JSONResponse({"error": "body: too large", "field": "body"}, status_code=413)

    app = BodyGuard(Starlette(routes=[Route("/refuse", refuse_later, methods=["POST"])]))
    serving = _trio_server if worker == "trio" else _asyncio_server
    with serving(app) as port, socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n")
        chunk = b"x" * 65536
        sock.setblocking(False)
        sent = 0
        while select.select([], [sock], [], 1.0)[1]:     # until the server stops reading
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(chunk)
        assert sent > READ_AHEAD_BYTES                    # hypercorn's queue is full
        gate.set()
        sock.settimeout(30)
        got = b""
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):               # the socket's timeout fails a hang
                got += data
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), got[:300]
    assert b"connection: close" in head.lower()
    assert body == b'{"error":"body: too large","field":"body"}'
