"""Gateway load against a running cluster: many gateways, one batch in flight each.

Each bench gateway signs its next batch, POSTs it to a node with `wait_ms` (the
answer waits for the decision), polls the batch status if the answer was only
"accepted", and records the latency from its first POST until it learns the batch
is committed. Gateways are added in steps, so the offered rate rises over the run.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from dataclasses import dataclass, field

import httpx
import trio

from carbonlab.node.localcluster import GatewayFeed, LocalCluster


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


async def gateway_loop(client: httpx.AsyncClient, cluster: LocalCluster, feed: GatewayFeed,
                       members: list[str], per_meter: int, result: LoadResult, stop: trio.Event) -> None:
    order = itertools.cycle(members)
    while not stop.is_set():
        batch = feed.next_batch(per_meter)
        body = batch.to_json()
        started = time.monotonic()
        member = next(order)
        while not stop.is_set():
            try:
                # long-poll: the answer waits for the decision; re-POSTing is idempotent
                r = await client.post(f"{cluster.url(member)}/v1/batches", params={"wait_ms": 5000},
                                      json=body, timeout=15)
                status = r.json().get("status")
                if status == "committed":
                    now = time.monotonic()
                    result.samples.append(Sample(now, now - started, len(batch.readings)))
                    break
                if status == "rejected":
                    result.failures += 1
                    break
            except (httpx.HTTPError, ValueError):
                result.failures += 1
                member = next(order)
                await trio.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
