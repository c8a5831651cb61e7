"""A user-space TCP proxy that delays what it forwards (this kernel has no netem).

Theory of operation. Each accepted connection gets an upstream connection and, per
direction, a reader task that stamps every chunk with its release time (now + delay +
a seeded jitter) and a writer task that sends chunks in order at their release time.
Release times are made non-decreasing per direction, so jitter never reorders bytes
(TCP could not carry reordered bytes anyway). The proxy runs its own asyncio loop in a
thread so that the rig's synchronous code can start and stop it; `stop` closes the
listener and every connection and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass

from carbonlab.rig.errors import HostError

CHUNK = 65536


@dataclass(frozen=True)
class ProxySpec:
    listen_host: str
    upstream_host: str
    upstream_port: int
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 0
    listen_port: int = 0


class DelayProxy:
    def __init__(self, spec: ProxySpec) -> None:
        self.spec = spec
        self.port = 0
        self.connections = 0
        self._rng = random.Random(spec.seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rig-delay-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> int:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        try:
            self.port = future.result(timeout=10)
        except OSError as exc:
            self.stop()
            raise HostError(f"delay proxy: cannot listen on {self.spec.listen_host}: {exc}") from None
        return self.port

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.spec.listen_host, self.spec.listen_port)
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(self.spec.upstream_host, self.spec.upstream_port), timeout=10)
        except (OSError, TimeoutError):
            writer.close()
            return
        self.connections += 1
        self._spawn(self._pair(reader, writer, up_reader, up_writer))

    async def _pair(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.gather(self._direction(reader, up_writer), self._direction(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()

    def _release_delay_s(self) -> float:
        jitter = self._rng.uniform(-self.spec.jitter_ms, self.spec.jitter_ms) if self.spec.jitter_ms else 0.0
        return max(0.0, self.spec.delay_ms + jitter) / 1000.0

    async def _direction(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def pump() -> None:
            last = 0.0
            while chunk := await reader.read(CHUNK):
                last = max(last, loop.time() + self._release_delay_s())
                queue.put_nowait((last, chunk))
            queue.put_nowait((max(last, loop.time()), b""))

        feeder = loop.create_task(pump())
        try:
            while True:
                at, chunk = await queue.get()
                await asyncio.sleep(max(0.0, at - loop.time()))
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()  # the peer is gone: abort this direction's other end too
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
                await feeder
