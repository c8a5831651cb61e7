"""ASGI pieces shared by the node's API and the members' console (both served by hypercorn).

Theory of operation. `BodyGuard` stands between hypercorn and the app and owns what happens
to a request's body whatever the app does with it:

- a body must keep arriving: the whole of it within `body_timeout_s`, extended by one second
  per `MIN_BODY_RATE` bytes received (Apache's mod_reqtimeout `body=20,MinRate=500`), so a
  large upload on a slow link passes and a stalled or trickled body does not hold the
  connection for ever. Hypercorn's own `read_timeout` cannot do this: it is a timeout on every
  read of the socket, also while the client waits for a long answer (an event stream, a
  submission's `wait_ms`). Past the deadline the app's read fails (`BodyTimeout`), and the
  client gets a 408 with `Connection: close`;
- a client that goes away mid-body makes the app's read fail (Starlette's `ClientDisconnect`);
  that is the client's business, one debug line, not an error with a traceback (any client
  could flood the log with them);
- an answer sent before the body was read to its end (a 401, 413, 415 answered from the head
  alone): the answer's bytes go out at once, then the rest of the body is read and dropped
  before the answer's end, up to `drain_max_bytes` (the node's 4 MiB body cap), chunked or
  not, so the connection is kept and a request pipelined behind it is answered. Only a
  declared body whose unread rest is over that cap is not read: the answer says
  `Connection: close` (RFC 9112, 9.6; without it a keep-alive client sends its next request
  on a connection hypercorn is closing: "Server disconnected without sending a response",
  CI 2026-12-03). A chunked body is read to the cap in all: the rest of one found over it (by
  the app or while draining) is left unread and the connection closed after the complete answer,
  unannounced (the unread rest may be a few bytes, so `Connection: close` could bite as below).

Why no other answer says `Connection: close` (hypercorn 0.18, h11): once the answer's head says
it, h11 takes any byte the client sends after its request's end as a protocol error, and
hypercorn's reading task then closes the socket while the app's task is still sending the
answer (`trio.BusyResourceError` on the trio worker: an empty or cut answer, "Error in ASGI
Framework" in the log, the pipelined request lost; 4 of 4 times for a chunked 2-byte body).
The reading task is safe from that only while it has not reached the body's end when the head
goes out: a body read to its end by the app or the guard (the reader is then parked on h11's
PAUSED until the answer is done), or one whose unread rest is longer than the reader can get
ahead of the app: hypercorn queues at most `max_app_queue_size` (10) body messages of one read
(`MAX_RECV`, 64 KiB) each, plus the few the guard takes while ending the answer
(`DISCARD_MAX_MESSAGES`): under `READ_AHEAD_BYTES`, which `drain_max_bytes` may not be below
(tests/unit/test_asgi.py pins hypercorn's two numbers).

Ending an answer while the body is unread, the guard reads and drops the body messages queued
meanwhile: hypercorn ends a stream by queueing `http.disconnect` behind them, and a client that
kept pushing its body has filled that queue, which nobody else reads; the app's task and the
connection then hung for ever after a complete answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio

Scope = dict[str, Any]
Message = dict[str, Any]

DEFAULT_BODY_TIMEOUT_S = 20.0
MIN_BODY_RATE = 500             # bytes per second that extend the body's deadline by one second
DRAIN_MAX_BYTES = 4 * 1024 * 1024   # the unread rest of a body read and dropped after an early answer
DISCARD_MAX_MESSAGES = 16       # body messages taken while an answer ends before its body did
READ_AHEAD_BYTES = (10 + 1 + DISCARD_MAX_MESSAGES + 1) * 64 * 1024   # see the theory above

END: Message = {"type": "http.response.body", "body": b"", "more_body": False}

log = logging.getLogger("carbonlab.asgi")


class BodyTimeout(Exception):
    """Raised by a guarded `receive` when the request's body did not arrive in time; the
    client's fault (a stalled or trickled upload). `BodyGuard` answers it with 408."""


def _declared(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's declared length: 0 for none, None for a chunked or unreadable one."""
    length = 0
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            digits = value.strip()      # h11 has checked it; ASCII and short all the same
            length = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 20 else -1
    return None if length < 0 else length


def _says_close(message: Message) -> bool:
    return any(k.lower() == b"connection" and b"close" in v.lower() for k, v in message.get("headers", []))


class _Request:
    """One request's body as the guard has seen it."""

    def __init__(self, receive: Any, timeout_s: float) -> None:
        self.receive_raw = receive
        self.start = time.monotonic()
        self.timeout_s = timeout_s
        self.received = 0
        self.ended = False          # the last body message (or a disconnect) came in
        self.disconnected = False
        self.timed_out = False

    async def receive(self) -> Message:
        if self.ended:              # e.g. an event stream waiting for the client to leave
            return await self.receive_raw()  # type: ignore[no-any-return]
        deadline = self.start + self.timeout_s + self.received / MIN_BODY_RATE
        message: Message | None = None
        with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
            message = await self.receive_raw()
        if message is None:
            self.timed_out = True
            raise BodyTimeout(f"body: {self.received} bytes came in {self.timeout_s:g} s")
        if message["type"] == "http.disconnect":
            self.ended = self.disconnected = True
        else:
            self.received += len(message.get("body", b""))
            self.ended = not message.get("more_body", False)
        return message

    async def drain(self, limit: int) -> None:
        """Read at most `limit` more bytes of the body and drop them; a stall or a disconnect
        just ends it (the connection is then closed by hypercorn, the body not being through)."""
        stop = self.received + limit
        try:
            while not self.ended and self.received <= stop:
                await self.receive()
        except BodyTimeout:
            pass

    async def discard(self) -> None:
        """Take the body messages hypercorn queued, until its `http.disconnect` (bounded: each
        one taken lets hypercorn's reader read 64 KiB further)."""
        for _ in range(DISCARD_MAX_MESSAGES):
            if (await self.receive_raw())["type"] == "http.disconnect":
                return


async def _end(send: Any, request: _Request) -> None:
    """The answer's end; if the body is not through, sent while the queued body is dropped."""
    if request.ended:
        await send(END)
        return
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(request.discard)
        await send(END)
        tasks.cancel_scope.cancel()


class BodyGuard:
    """ASGI middleware: a deadline on the request body, quiet disconnects, and a connection
    that is kept (the rest of the body read and dropped, up to `drain_max_bytes`) or closed
    (`Connection: close`) after an answer sent before the body was read."""

    def __init__(self, app: Any, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
                 drain_max_bytes: int = DRAIN_MAX_BYTES) -> None:
        if drain_max_bytes < READ_AHEAD_BYTES:
            raise ValueError(f"drain_max_bytes {drain_max_bytes} is below {READ_AHEAD_BYTES}: see the theory")
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.drain_max_bytes = drain_max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared(scope.get("headers", []))
        if declared == 0:
            await self.app(scope, receive, send)
            return
        request = _Request(receive, self.body_timeout_s)
        started = early = closing = False

        async def guarded_send(message: Message) -> None:
            nonlocal started, early, closing
            if request.timed_out or request.disconnected:
                return              # Starlette's 500 for the failed read: the guard answers
            if message["type"] == "http.response.start":
                started = True
                early = not request.ended
                if early and declared is not None and declared - request.received > self.drain_max_bytes:
                    message = _with_close(message)
                closing = _says_close(message)
            elif early and message["type"] == "http.response.body" and not message.get("more_body"):
                if message.get("body"):
                    await send({**message, "more_body": True})
                if not closing:     # drained after a head saying close, h11 fails on a pipelined byte
                    # a declared rest is at most the cap here; a chunked body is read to the cap in all
                    read = 0 if declared is not None else request.received
                    await request.drain(self.drain_max_bytes - read)
                await _end(send, request)
                return
            await send(message)

        failed: Exception | None = None
        try:
            await self.app(scope, request.receive, guarded_send)
        except Exception as exc:
            if not (request.timed_out or request.disconnected):
                raise
            failed = exc            # the app's read failed: the guard's business, not an error
        where = f"{scope.get('method')} {scope.get('path')}"
        if request.timed_out:
            log.info("%s: the body did not arrive in time (%s bytes)%s", where, request.received,
                     "" if started else "; 408")
            if not started:
                await _answer_408(send, request)
        elif request.disconnected:
            log.debug("%s: the client left before its body was through (%r)", where, failed)


def _with_close(message: Message) -> Message:
    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
    return {**message, "headers": [*kept, (b"connection", b"close")]}


async def _answer_408(send: Any, request: _Request) -> None:
    body = (f'{{"error": "body: not received within {request.timeout_s:g} s (plus 1 s per '
            f'{MIN_BODY_RATE} bytes); got {request.received} bytes", "field": "body"}}').encode()
    await send({"type": "http.response.start", "status": 408,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": True})
    await _end(send, request)
