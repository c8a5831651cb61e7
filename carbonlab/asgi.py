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
- an answer sent before the body was read to the end (a 401, 413, 415 answered from the head
  alone): with a small declared body (`DRAIN_MAX_BYTES`) the rest of the body is read and
  dropped after the answer's bytes and before its end, so the connection is kept and a
  request pipelined behind it is answered. Otherwise the answer says `Connection: close`
  (RFC 9112, 9.6): hypercorn closes such a connection once the answer is out, and without the
  header the client would send its next request on a closing socket ("Server disconnected
  without sending a response", CI 2026-12-03). Answering a body that had fully arrived with
  `Connection: close` was itself a bug: on hypercorn's trio worker, the pipelined request's
  bytes then make h11 fail and the connection is closed while the answer is being sent
  (`trio.BusyResourceError`, an empty or cut answer).
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
DRAIN_MAX_BYTES = 64 * 1024     # a body up to this size is read to its end after an early answer

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
            length = int(value) if value.strip().isdigit() else -1
    return None if length < 0 else length


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

    async def drain(self) -> None:
        """Read the rest of the body and drop it; a stall or a disconnect just ends it (the
        connection is then closed by hypercorn, the body not being through)."""
        try:
            while not self.ended:
                await self.receive()
        except BodyTimeout:
            pass


class BodyGuard:
    """ASGI middleware: a deadline on the request body, quiet disconnects, and a connection
    that is kept (small body, read to its end) or closed (`Connection: close`) after an answer
    sent before the body was read."""

    def __init__(self, app: Any, body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared(scope.get("headers", []))
        if declared == 0:
            await self.app(scope, receive, send)
            return
        request = _Request(receive, self.body_timeout_s)
        started = drain = False

        async def guarded_send(message: Message) -> None:
            nonlocal started, drain
            if request.timed_out or request.disconnected:
                return              # Starlette's 500 for the failed read: the guard answers
            if message["type"] == "http.response.start":
                started = True
                if not request.ended:
                    drain = declared is not None and declared <= DRAIN_MAX_BYTES
                    if not drain:
                        kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                        message = {**message, "headers": [*kept, (b"connection", b"close")]}
            elif drain and message["type"] == "http.response.body" and not message.get("more_body"):
                if message.get("body"):
                    await send({**message, "more_body": True})
                await request.drain()
                message = {"type": "http.response.body", "body": b"", "more_body": False}
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


async def _answer_408(send: Any, request: _Request) -> None:
    body = (f'{{"error": "body: not received within {request.timeout_s:g} s (plus 1 s per '
            f'{MIN_BODY_RATE} bytes); got {request.received} bytes", "field": "body"}}').encode()
    await send({"type": "http.response.start", "status": 408,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
