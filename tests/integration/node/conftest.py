"""Seven (or fewer) real node processes on 127.0.0.1, made and cleaned up by the test."""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster
from carbonlab.node.model import Batch
from tests.waiting import WaitTimeout, wait_until


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., LocalCluster]]:
    made: list[LocalCluster] = []

    def factory(n: int = 7, **kwargs: Any) -> LocalCluster:
        cluster = LocalCluster.create(tmp_path / f"cluster{len(made)}", n, use_cli_keygen=True, **kwargs)
        made.append(cluster)
        return cluster

    yield factory
    for cluster in made:
        cluster.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def submit(cluster: LocalCluster, batch: Batch, members: list[str],
           timeout_s: float = 30.0) -> dict[str, Any]:
    """Send like a gateway: to the first node that answers, then until the batch is decided."""
    deadline = time.monotonic() + timeout_s
    i = 0
    while time.monotonic() < deadline:
        member = members[i % len(members)]
        i += 1
        try:
            r = httpx.post(f"{cluster.url(member)}/v1/batches?wait_ms=2000", json=batch.to_json(), timeout=5)
        except httpx.HTTPError:
            continue
        body = dict(r.json())
        if body.get("status") in ("committed", "rejected"):
            return body
        assert r.status_code == 202, body
    raise AssertionError(f"batch {batch.key} not decided within {timeout_s} s")


def block_hashes(cluster: LocalCluster, member: str, upto: int) -> list[str]:
    hashes: list[str] = []
    lo = 1
    while lo <= upto:
        hi = min(upto, lo + 99)
        r = httpx.get(f"{cluster.url(member)}/v1/blocks", params={"from": lo, "to": hi}, timeout=10)
        hashes += [b["hash"] for b in r.json()["blocks"]]
        lo = hi + 1
    return hashes


def converge(cluster: LocalCluster, members: list[str], timeout_s: float = 60.0) -> tuple[int, str]:
    """Wait until every member reports the same height and head; return them."""
    seen: dict[str, Any] = {}

    def one_head() -> tuple[int, str] | None:
        seen.update({m: cluster.status(m) for m in members})
        heads = {(s["height"], s["head_hash"]) for s in seen.values() if s is not None}
        return next(iter(heads)) if len(heads) == 1 and None not in seen.values() else None

    try:
        return wait_until(one_head, timeout_s, f"{members} on one height and head", poll_s=0.3)
    except WaitTimeout as exc:
        raise AssertionError(f"no convergence within {timeout_s} s: "
                             f"{ {m: (s or {}).get('height') for m, s in seen.items()} }") from exc


def run_feeds(cluster: LocalCluster, feeds: list[GatewayFeed], rounds: int, members: list[str]) -> int:
    """Each gateway submits `rounds` batches, one in flight, spread over `members`; returns heights."""
    done = 0
    for r in range(rounds):
        for k, feed in enumerate(feeds):
            order = members[(r + k) % len(members):] + members[:(r + k) % len(members)]
            result = submit(cluster, feed.next_batch(), order)
            assert result["status"] == "committed", result
            done += 1
    return done
