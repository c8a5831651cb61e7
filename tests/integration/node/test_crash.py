"""SIGKILL a node under load: it restarts, catches up, and its ledger verifies offline."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

import pytest

from carbonlab.bench.localcluster import CLI, GatewayFeed, LocalCluster
from tests.integration.node.conftest import block_hashes, converge, submit
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def load(cluster: LocalCluster, feed: GatewayFeed, members: list[str], stop: threading.Event,
         committed: list[int], errors: list[str]) -> None:
    k = 0
    while not stop.is_set():
        batch = feed.next_batch(per_meter=5)
        k += 1
        order = members[k % len(members):] + members[:k % len(members)]
        try:
            result = submit(cluster, batch, order, timeout_s=60)
        except AssertionError as exc:
            errors.append(str(exc))
            return
        if result["status"] != "committed":
            errors.append(repr(result))
            return
        committed.append(batch.batch_seq)


@pytest.mark.timeout(600)
def test_sigkill_under_load_restart_catch_up_and_verify(make_cluster: Callable[..., LocalCluster]) -> None:
    cluster = make_cluster(7, gateways=8)
    cluster.start_all()
    cluster.wait_ready(timeout_s=90)
    members = list(cluster.members)
    victim = "n4"
    others = [m for m in members if m != victim]
    stop = threading.Event()
    committed: list[int] = []
    errors: list[str] = []
    threads = [threading.Thread(target=load, args=(cluster, feed, others, stop, committed, errors))
               for feed in cluster.feeds()]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(committed) >= 16 or errors, 90, "16 batches committed", poll_s=0.2)
        assert not errors, errors
        cluster.kill(victim)          # SIGKILL, mid-write for all we know
        before = len(committed)
        wait_until(lambda: len(committed) >= before + 16 or errors, 90,
                   f"16 more batches committed with {victim} killed", poll_s=0.2)
        cluster.start(victim)
        cluster.wait_ready([victim], timeout_s=60)
        after = len(committed)
        wait_until(lambda: len(committed) >= after + 16 or errors, 90,
                   f"16 more batches committed after {victim} restarted", poll_s=0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors
    assert len(committed) > before
    height, _ = converge(cluster, members, timeout_s=120)
    assert block_hashes(cluster, victim, height) == block_hashes(cluster, "n1", height)
    cluster.stop()
    out = subprocess.run([*CLI, "ledger", "verify", str(cluster.root / "data" / victim / "ledger.sqlite"),
                          "--genesis", str(cluster.root / "genesis.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
