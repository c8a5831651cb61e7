"""Seven node processes: agreement, view change, f failures, more than f failures, recovery."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from tests.integration.node.conftest import block_hashes, converge, run_feeds
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
def test_order_view_change_f_failures_and_recovery(make_cluster: Callable[..., LocalCluster]) -> None:
    cluster = make_cluster(7)
    cluster.start_all()
    cluster.wait_ready(timeout_s=90)
    members = list(cluster.members)
    feeds = cluster.feeds()

    # batches submitted to different nodes commit in the same order everywhere
    run_feeds(cluster, feeds, 3, members)
    height, _ = converge(cluster, members)
    reference = block_hashes(cluster, "n1", height)
    assert len(reference) == height
    for member in members[1:]:
        assert block_hashes(cluster, member, height) == reference

    # kill the primary: a view change follows and commits continue
    primary = cluster.status("n2")["primary"]  # type: ignore[index]
    cluster.kill(primary)
    alive = [m for m in members if m != primary]
    run_feeds(cluster, feeds, 1, alive)
    views = {cluster.status(m)["view"] for m in alive}  # type: ignore[index]
    assert min(views) >= 1

    # a second node down (f = 2): commits continue
    second = alive[-1]
    cluster.kill(second)
    alive.remove(second)
    run_feeds(cluster, feeds, 2, alive)
    height, head = converge(cluster, alive)

    # a third node down: nothing commits, and nobody forks
    third = alive[-1]
    cluster.kill(third)
    alive.remove(third)
    stuck = feeds[0].next_batch()
    r = httpx.post(f"{cluster.url(alive[0])}/v1/batches?wait_ms=3000", json=stuck.to_json(), timeout=10)
    assert r.status_code == 202
    # the behaviour under test is that nothing happens: 2 s more in which nothing may commit or fork
    time.sleep(2)
    for member in alive:
        status = cluster.status(member)
        assert status is not None
        assert status["height"] == height
        assert status["head_hash"] == head

    # one comes back: the cluster resumes (the stuck batch commits) and converges
    cluster.start(third)
    alive.append(third)
    cluster.wait_ready([third], timeout_s=60)
    stuck_url = f"{cluster.url(alive[0])}/v1/batches/{stuck.gateway_id}/{stuck.batch_seq}"

    def stuck_batch() -> dict[str, object] | None:
        got = dict(httpx.get(stuck_url, timeout=5).json())
        return got if got["status"] == "committed" else None

    got = wait_until(stuck_batch, 90, f"the stuck batch {stuck.key} committed", poll_s=0.5)
    assert got["status"] == "committed", got
    run_feeds(cluster, feeds, 1, alive)
    converge(cluster, alive, timeout_s=90)

    # the other two return too and catch up by state transfer: all seven on one head
    for member in (primary, second):
        cluster.start(member)
    cluster.wait_ready([primary, second], timeout_s=60)
    run_feeds(cluster, feeds, 1, members)
    height, _ = converge(cluster, members, timeout_s=120)
    reference = block_hashes(cluster, "n1", height)
    for member in members[1:]:
        assert block_hashes(cluster, member, height) == reference
