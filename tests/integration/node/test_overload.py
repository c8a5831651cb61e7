"""Overload: a node holding `max_pending_batches` undecided batches refuses new ones (503 with
Retry-After, counted), keeps nothing of a refused batch, and loses no acknowledged batch; the
members agree afterwards.

Real node processes (libp2p, SQLite, HTTP): many gateways long-poll one node whose bound is
far below their number, each retrying a refused batch after the Retry-After it was given, as
the gateway's uplink does (it keeps a batch in its outbox until a node says committed).
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster
from carbonlab.bench.startup_split import read_split
from carbonlab.node.model import Batch
from tests.integration.node.conftest import block_hashes, converge

pytestmark = pytest.mark.slow

BOUND = 3
GATEWAYS = 16
BATCHES_EACH = 6


class Gateway(threading.Thread):
    """Sends its batches in order, one in flight; a refused or undecided batch is sent again."""

    def __init__(self, cluster: LocalCluster, feed: GatewayFeed, member: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{cluster.url(member)}/v1/batches?wait_ms=3000"
        self.status_url = f"{cluster.url(member)}/v1/batches"
        self.batches = [feed.next_batch() for _ in range(BATCHES_EACH)]
        self.committed: list[tuple[Batch, int, str]] = []   # (batch, height, digest) acknowledged
        self.refusals: list[httpx.Response] = []
        self.kept_after_refusal: list[str] = []   # status of a refused batch right after its 503
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=15) as client:
                for batch in self.batches:
                    self._deliver(client, batch)
        except (AssertionError, httpx.HTTPError, KeyError, ValueError) as exc:   # reported by the test
            self.error = exc

    def _deliver(self, client: httpx.Client, batch: Batch) -> None:
        for _ in range(400):
            r = client.post(self.url, json=batch.to_json())
            body = r.json()
            if r.status_code == 503:
                self.refusals.append(r)
                if len(self.refusals) == 1:
                    got = client.get(f"{self.status_url}/{batch.gateway_id}/{batch.batch_seq}").json()
                    self.kept_after_refusal.append(got["status"])
                # the header is honoured in kind; a tenth of it keeps the test short
                threading.Event().wait(float(r.headers["retry-after"]) / 10)
                continue
            assert body["status"] in ("accepted", "committed"), body
            if body["status"] == "committed":
                self.committed.append((batch, body["height"], body["digest"]))
                return
        raise AssertionError(f"batch {batch.key} never committed")


@pytest.mark.timeout(600)
def test_overload_refuses_with_retry_after_and_loses_nothing(tmp_path: Path) -> None:
    # keys made in-process (not by 4 `node keygen` processes): less to wait for on a busy machine
    cluster = LocalCluster.create(tmp_path / "cluster", 4, gateways=GATEWAYS, meters_per_gateway=1,
                                  max_pending_batches=BOUND)
    try:
        cluster.start_all()
        cluster.wait_ready(timeout_s=180)
        _overload(cluster)
    finally:
        cluster.stop()


def _overload(cluster: LocalCluster) -> None:
    members = list(cluster.members)
    gateways = [Gateway(cluster, feed, members[0]) for feed in cluster.feeds()]
    for gw in gateways:
        gw.start()
    for gw in gateways:
        gw.join(timeout=400)
        assert not gw.is_alive(), "a gateway did not finish"
        assert gw.error is None, gw.error

    refusals = [r for gw in gateways for r in gw.refusals]
    assert refusals, f"{GATEWAYS} gateways against a bound of {BOUND} were never refused"
    for r in refusals:
        assert r.headers["retry-after"].isdigit(), r.headers
        body = r.json()
        assert body["field"] == "batch", body
        assert "max_pending_batches" in body["error"], body
    # a refused batch was not taken: the node knew nothing of it right after the 503
    kept = [s for gw in gateways for s in gw.kept_after_refusal]
    assert kept
    assert all(s == "unknown" for s in kept), kept
    metrics = httpx.get(f"{cluster.url(members[0])}/metrics", timeout=10).text
    counted = next(float(line.split()[-1]) for line in metrics.splitlines()
                   if line.startswith("carbonlab_batches_refused_total "))
    assert counted == len(refusals)

    # every acknowledged batch is on every member's ledger, at the height and with the digest
    # it was acknowledged with, and the members agree block by block
    height, _ = converge(cluster, members, timeout_s=120)
    acked = [c for gw in gateways for c in gw.committed]
    assert len(acked) == GATEWAYS * BATCHES_EACH
    with httpx.Client(timeout=10) as client:
        for member in members:
            for batch, at, digest in acked:
                url = f"{cluster.url(member)}/v1/batches/{batch.gateway_id}/{batch.batch_seq}"
                got = client.get(url).json()
                assert (got["status"], got["height"], got["digest"]) == ("committed", at, digest), member
    reference = block_hashes(cluster, members[0], height)
    for member in members[1:]:
        assert block_hashes(cluster, member, height) == reference
    # each member logged its start-up: serving, then its first vote, timed from its process start
    for member in members:
        split = read_split(cluster.root / f"{member}.log")
        ages = [age for age in (split.imported_s, split.ledger_opened_s, split.recovered_s,
                                split.serving_s, split.first_vote_s) if age is not None]
        assert len(ages) == 5, (member, split)
        assert ages[0] > 0, (member, split)
        assert ages == sorted(ages), (member, split)
