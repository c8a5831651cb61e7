"""Gateway load against a running cluster: many gateways, one batch in flight each.

Each bench gateway POSTs its next signed batch to a node with `wait_ms` (the
answer waits for the decision), POSTs it again (idempotent) if the answer was only
"accepted", and records the latency from its first POST until it learns the batch
is committed. Gateways are added in steps, so the offered rate rises over the run.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
from dataclasses import dataclass, field

import h11
import trio
import trio.lowlevel

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster

AHEAD = 4


@dataclass
class Sample:
    committed_at: float
    latency_s: float
    readings: int


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    failures: int = 0

    def window(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.committed_at < end]


def summarize(samples: list[Sample], seconds: float) -> dict[str, float]:
    if not samples or seconds <= 0:
        return {"readings_per_s": 0.0, "batches_per_s": 0.0, "p50_s": float("nan"), "p99_s": float("nan")}
    latencies = sorted(s.latency_s for s in samples)
    return {"readings_per_s": sum(s.readings for s in samples) / seconds,
            "batches_per_s": len(samples) / seconds,
            "p50_s": statistics.median(latencies),
            "p99_s": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


class Connection:
    """One keep-alive HTTP/1.1 connection (h11 over a trio TCP stream), as a gateway holds one.

    The bench's gateways stand for machines of their own; a lean client keeps the
    bench process's share of this machine's CPU small, so the nodes get the rest."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._stream: trio.SocketStream | None = None
        self._conn = h11.Connection(h11.CLIENT)

    async def post(self, target: str, body: bytes, timeout_s: float,
                   content_type: str = "application/json") -> tuple[int, bytes]:
        with trio.fail_after(timeout_s):
            for attempt in (1, 2):
                reused = self._stream is not None
                try:
                    return await self._exchange(target, body, content_type)
                except (trio.BrokenResourceError, ConnectionError):
                    await self.close()
                    if attempt == 2 or not reused:  # a kept-alive connection the server closed
                        raise
                except BaseException:
                    await self.close()
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, target: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        if self._stream is None or self._conn.our_state is not h11.IDLE:
            await self.close()
            self._stream = await trio.open_tcp_stream(self.host, self.port)
            self._conn = h11.Connection(h11.CLIENT)
        headers = [("host", f"{self.host}:{self.port}"), ("content-type", content_type),
                   ("content-length", str(len(body)))]
        await self._stream.send_all(self._conn.send(h11.Request(method="POST", target=target,
                                                                headers=headers)) or b"")
        await self._stream.send_all((self._conn.send(h11.Data(data=body)) or b"")
                                    + (self._conn.send(h11.EndOfMessage()) or b""))
        status, chunks = 0, []
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                data = await self._stream.receive_some(65536)
                if not data:
                    raise ConnectionError(f"{self.host}:{self.port} closed the connection")
                self._conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._conn.start_next_cycle()
                return status, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError(f"{self.host}:{self.port} closed the connection")

    async def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()


async def gateway_loop(cluster: LocalCluster, feed: GatewayFeed, members: list[str], per_meter: int,
                       result: LoadResult, stop: trio.Event) -> None:
    """Submit `feed`'s batches one at a time until `stop`; the next `AHEAD` are signed early.

    Signing and encoding a batch is the gateway's work, not the cluster's: it happens
    while the previous batch is in flight, never between its commit and the next POST."""
    order = itertools.cycle(members)
    conns = {m: Connection(*cluster.api_address(m)) for m in members}
    queue: list[tuple[int, bytes]] = []
    try:
        while not stop.is_set():
            while len(queue) < AHEAD:
                batch = feed.next_batch(per_meter)
                queue.append((len(batch.readings), json.dumps(batch.to_json()).encode()))
                await trio.lowlevel.checkpoint()
            readings, body = queue.pop(0)
            started = time.monotonic()
            member = next(order)
            while not stop.is_set():
                try:
                    # long-poll: the answer waits for the decision; re-POSTing is idempotent
                    _code, answer = await conns[member].post("/v1/batches?wait_ms=5000", body, 15)
                    status = json.loads(answer).get("status")
                    if status == "committed":
                        now = time.monotonic()
                        result.samples.append(Sample(now, now - started, readings))
                        break
                    if status == "rejected":
                        result.failures += 1
                        break
                except (OSError, trio.TooSlowError, trio.BrokenResourceError, ValueError, h11.ProtocolError):
                    result.failures += 1
                    member = next(order)
                    await trio.sleep(0.1)
    finally:
        for conn in conns.values():
            await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
