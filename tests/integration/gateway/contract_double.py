"""A CONTRACT DOUBLE of the node's batch API, for the uplink's failover/backoff protocol tests only.

It follows INTERFACES.md (POST /v1/batches, GET /v1/batches/{gw}/{seq}) and the contract's
replay rule, and can be told to misbehave: answer 503, stay "pending" for a while, forget a
batch ("unknown"), reject a batch_seq. It is NOT the node: the end-to-end tests use the real
`carbonlab node run` cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from carbonlab.loopback import free_loopback_port
from carbonlab.node.model import BATCH_MEDIA_TYPE, Batch


@dataclass
class ChainState:
    """What the double's chain holds; shared by every double node of one test."""

    committed: dict[tuple[str, int], Batch] = field(default_factory=dict)
    rejected: dict[tuple[str, int], str] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    reject_seqs: set[int] = field(default_factory=set)
    readings: list[tuple[str, int]] = field(default_factory=list)
    order: list[tuple[str, int]] = field(default_factory=list)     # batch keys in commit order
    submissions: int = 0

    def decide(self, batch: Batch) -> None:
        key = batch.key
        if key in self.committed or key in self.rejected:
            return
        if batch.batch_seq in self.reject_seqs:
            self.rejected[key] = "out_of_range"
        elif batch.batch_seq <= self.last_seq.get(batch.gateway_id, 0):
            self.rejected[key] = "replay_batch"
        else:
            self.committed[key] = batch
            self.last_seq[batch.gateway_id] = batch.batch_seq
            self.order.append(key)
            self.readings.extend((r.meter_id, r.seq) for r in batch.readings)


@dataclass
class DoubleNode:
    chain: ChainState
    fail_posts: int = 0            # answer 503 to this many POSTs
    pending_polls: int = 0         # answer "pending" this many times before deciding
    forget: bool = False           # accept, then say "unknown" (lost in a view change)
    retry_after: str | None = None  # the Retry-After header of its 503s (None: no header)
    posts: int = 0
    post_times: list[float] = field(default_factory=list)   # time.monotonic() of each POST
    polls: int = 0
    _pending: dict[tuple[str, int], tuple[Batch, int]] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/batches", self.post, methods=["POST"]),
                                 Route("/v1/batches/{gw}/{seq:int}", self.get, methods=["GET"])])

    def _status(self, key: tuple[str, int]) -> dict[str, Any] | None:
        if key in self.chain.committed:
            return {"status": "committed", "height": 1}
        if key in self.chain.rejected:
            return {"status": "rejected", "reason": self.chain.rejected[key],
                    "field": "batch.readings[0].co2_pct", "detail": "double"}
        return None

    async def post(self, request: Request) -> JSONResponse:
        self.posts += 1
        self.post_times.append(time.monotonic())
        self.chain.submissions += 1
        if self.fail_posts > 0:
            self.fail_posts -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
            return JSONResponse({"error": "unavailable"}, status_code=503, headers=headers)
        try:
            if request.headers.get("content-type") == BATCH_MEDIA_TYPE:   # what the uplink sends
                batch = Batch.decode(await request.body())
            else:
                batch = Batch.from_json(await request.json())
        except Exception as exc:  # noqa: BLE001 - the double answers 400 like the node
            return JSONResponse({"error": str(exc), "field": "batch"}, status_code=400)
        known = self._status(batch.key)
        if known is not None:
            return JSONResponse(known, status_code=422 if known["status"] == "rejected" else 200)
        if not self.forget:
            self._pending[batch.key] = (batch, self.pending_polls)
        return JSONResponse({"status": "accepted"}, status_code=202)

    async def get(self, request: Request) -> JSONResponse:
        self.polls += 1
        key = (request.path_params["gw"], int(request.path_params["seq"]))
        if key in self._pending:
            batch, left = self._pending[key]
            if left > 0:
                self._pending[key] = (batch, left - 1)
                return JSONResponse({"status": "pending"})
            del self._pending[key]
            self.chain.decide(batch)
        known = self._status(key)
        return JSONResponse(known or {"status": "unknown"})


@contextlib.asynccontextmanager
async def running(node: DoubleNode, port: int = 0) -> AsyncIterator[str]:
    """Serve the double on `port` (a free loopback port when 0) for the duration of the block."""
    port = port or free_loopback_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(node.app(), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(task, 10.0)


class ThreadedDouble:
    """The double served from its own thread and event loop, for tests whose body blocks
    (sleeping between SIGKILLs of a gateway process)."""

    def __init__(self, node: DoubleNode, port: int = 0) -> None:
        import threading

        self.node = node
        self.port = port
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with running(self.node, self.port) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()
        asyncio.run(body())

    def __enter__(self) -> ThreadedDouble:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("contract double did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
