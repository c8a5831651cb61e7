"""The uplink against a real node at its `max_pending_batches` bound: the node answers 503 with
Retry-After, the uplink sends nothing more to it before that time, keeps the batch, and gets it
committed once the node has room again.

Real node processes (4 members, bound 1). Only n1 runs at first, so the batch another gateway
submitted stays undecided there (no quorum) and fills the bound; the other members start once
the uplink has been refused twice, the held batch commits, and the uplink's batch follows.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.gateway.uplink import Decision, Uplink, UplinkParams
from carbonlab.node.service import RETRY_AFTER_S

pytestmark = pytest.mark.slow

PARAMS = UplinkParams(request_timeout_s=10.0, poll_interval_s=0.1, commit_timeout_s=60.0,
                      base_backoff_s=0.01, max_backoff_s=0.05)


@pytest.mark.timeout(600)
def test_uplink_honours_a_real_nodes_retry_after_and_loses_nothing(tmp_path: Path) -> None:
    cluster = LocalCluster.create(tmp_path / "cluster", 4, gateways=2, meters_per_gateway=1,
                                  max_pending_batches=1)
    try:
        cluster.start("n1")
        cluster.wait_ready(["n1"], timeout_s=180)
        asyncio.run(asyncio.wait_for(_refused_then_committed(cluster), 480))
    finally:
        cluster.stop()


async def _refused_then_committed(cluster: LocalCluster) -> None:
    url = cluster.url("n1")
    holder, feed = cluster.feeds()
    held = holder.next_batch()
    mine = feed.next_batch()
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(f"{url}/v1/batches", json=held.to_json())
        assert r.status_code == 202, r.text     # pending at n1: no quorum yet

        results: list[tuple[float, str]] = []
        uplink = Uplink([url], PARAMS, on_result=lambda node, result: results.append((time.monotonic(),
                                                                                       result)))
        try:
            delivery = asyncio.create_task(uplink.deliver(mine))
            while sum(1 for _, res in results if res == "http_503") < 3:
                assert not delivery.done(), results
                await asyncio.sleep(0.05)
            # while refused, the batch was not taken: n1 knows nothing of it
            got = await client.get(f"{url}/v1/batches/{mine.gateway_id}/{mine.batch_seq}")
            assert got.json()["status"] == "unknown", got.text
            await asyncio.to_thread(_start_the_others, cluster)
            decision: Decision = await delivery
        finally:
            await uplink.aclose()

        refused = [t for t, res in results if res == "http_503"]
        gaps = [b - a for a, b in itertools.pairwise(refused)]
        assert gaps
        assert all(gap >= RETRY_AFTER_S for gap in gaps), gaps
        assert decision.committed, decision
        assert decision.height is not None
        for batch in (held, mine):
            status = (await client.get(f"{url}/v1/batches/{batch.gateway_id}/{batch.batch_seq}")).json()
            assert status["status"] == "committed", (batch.key, status)
        status = (await client.get(f"{url}/v1/batches/{mine.gateway_id}/{mine.batch_seq}")).json()
        assert status["height"] == decision.height


def _start_the_others(cluster: LocalCluster) -> None:
    others = [m for m in cluster.members if m != "n1"]
    for member in others:
        cluster.start(member)
    cluster.wait_ready(others, timeout_s=180)
