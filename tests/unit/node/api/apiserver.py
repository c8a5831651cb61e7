"""The node's real API server (`serve_api`: hypercorn's trio worker, the real app) in a thread of
the test process, in front of a node that has no ledger and no consensus: for tests of what the
HTTP layer does with hostile bytes, which never reach the node. Raw-socket helpers to talk to it.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import trio

from carbonlab.loopback import free_loopback_ports
from carbonlab.node.api.server import serve_api

Answer = tuple[int, dict[bytes, bytes], bytes]


class _NoNode:
    """What the API reads of a `NodeService` before a request reaches the node's work."""

    def __init__(self, port: int, body_timeout_s: float) -> None:
        self.config = SimpleNamespace(api_host="127.0.0.1", api_port=port, api_body_timeout_s=body_timeout_s)
        self.genesis = SimpleNamespace(meter_by_id={})
        self.started = trio.Event()


class LogRecords(logging.Handler):
    """Every log record of the process while installed; `seen` is set by the guard's lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.name == "carbonlab.asgi":
            self.seen.set()

    def errors(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in self.records
                if r.levelno >= logging.ERROR]


@contextmanager
def logged() -> Iterator[LogRecords]:
    handler = LogRecords()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


@contextmanager
def running_api(body_timeout_s: float = 20.0) -> Iterator[int]:
    """The port of a real node API server, stopped (its nursery cancelled) on exit."""
    port, = free_loopback_ports(1)
    node = _NoNode(port, body_timeout_s)
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            box["token"] = trio.lowlevel.current_trio_token()
            box["cancel"] = nursery.cancel_scope.cancel
            node.started.set()
            await nursery.start(serve_api, node)
            ready.set()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "the API server did not start"
        yield port
    finally:
        if "token" in box:
            trio.from_thread.run_sync(box["cancel"], trio_token=box["token"])
        thread.join(30)


def exchange(port: int, raw: bytes, *, timeout_s: float = 30.0, half_close: bool = False) -> bytes:
    """Send `raw` on a new connection and read until the server closes it (a socket timeout
    fails the test: the server kept a connection it should have answered and closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


def answers(data: bytes) -> list[Answer]:
    """The HTTP/1.1 responses in `data` (each with a Content-Length), in order; a response cut
    short fails."""
    out: list[Answer] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"a response head cut short: {data[:200]!r}"
        lines = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        length = int(headers.get(b"content-length", b"0"))
        assert len(rest) >= length, f"a response body cut short: {length} bytes declared, {len(rest)} sent"
        out.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return out


def request(method: str, path: str, body: bytes = b"", content_type: str | None = "application/json",
            extra: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + extra + b"\r\n" + body
