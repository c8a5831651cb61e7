"""The delay proxy on loopback: bytes arrive whole and in order whatever the jitter."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from carbonlab.rig.faults.proxy import DelayProxy, ProxySpec


@pytest.fixture
def upstream() -> Iterator[int]:
    """A loopback server that answers each connection with everything it read, reversed."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(30)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            conn.sendall(data[::-1])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    server.close()
    thread.join(timeout=30)


@pytest.mark.parametrize("jitter_ms", [0.0, 30.0])
def test_proxy_keeps_order_under_jitter(upstream: int, jitter_ms: float) -> None:
    proxy = DelayProxy(ProxySpec("127.0.0.1", "127.0.0.1", upstream, 5.0, jitter_ms, seed=3))
    port = proxy.start()
    try:
        payload = b"".join(i.to_bytes(4, "big") for i in range(20000))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
            for k in range(0, len(payload), 1000):
                c.sendall(payload[k:k + 1000])
            c.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := c.recv(65536):
                got += chunk
        assert got == payload[::-1]
        assert proxy.connections == 1
    finally:
        proxy.stop()
