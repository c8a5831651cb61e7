"""`node.byzantine` on real node processes: four members started as services; the primary is
restarted as a liar in each mode (same key, config and ledger); the three honest members
still commit every batch and agree; heal restarts it honest and it catches up. Where the
nodes' metrics can show the lie it is checked there: a silent member sends nothing while
blocks commit, replayed and forged messages are refused by the honest members (counted by
reason). (Conflicting votes leave no counter: the honest members' agreement and the liar's
own sends are what is checked.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import CLI, LocalCluster
from carbonlab.node.model import Batch
from carbonlab.rig.faults import FaultContext, FaultJournal, ServiceRef, make_fault
from carbonlab.rig.hosts.service import ServiceHost
from carbonlab.rig.hosts.shells import LocalShell
from carbonlab.rig.invariants import agreement, validity
from tests.unit.rig.conftest import end_services

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[LocalCluster, FaultContext]]:
    c = LocalCluster.create(tmp_path / "c", 4, gateways=1, meters_per_gateway=1)
    host = ServiceHost("h", LocalShell("h"), tmp_path / "run", tmp_path / "log")
    ctx = FaultContext(chain_id=c.genesis.chain_id)
    try:
        for m in c.members:
            host.start(f"node-{m}", (*CLI, "node", "run", "--config", str(c.root / f"{m}.toml")), str(c.root))
            ctx.nodes[m] = ServiceRef(host, f"node-{m}", "h", c.root / "data" / m, c.url(m))
        c.wait_ready(timeout_s=90)
        yield c, ctx
    finally:
        end_services(tmp_path / "run", str(tmp_path))


def submit(c: LocalCluster, batch: Batch, members: list[str], timeout_s: float = 60.0) -> dict[str, object]:
    deadline, i = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        member = members[i % len(members)]
        i += 1
        try:
            r = httpx.post(f"{c.url(member)}/v1/batches?wait_ms=2000", json=batch.to_json(), timeout=5)
        except httpx.HTTPError:
            continue
        body = dict(r.json())
        if body.get("status") in ("committed", "rejected"):
            return body
    raise AssertionError(f"batch {batch.batch_seq} not decided within {timeout_s} s")


def test_equivocating_primary_then_healed(cluster: tuple[LocalCluster, FaultContext]) -> None:
    c, ctx = cluster
    feed = c.feeds()[0]
    honest = ["n2", "n3", "n4"]
    assert submit(c, feed.next_batch(), honest)["status"] == "committed"
    journal = FaultJournal(ctx)
    fault = make_fault("node.byzantine", "n1", {"mode": "equivocate"})
    record = journal.apply(fault)
    assert "restarted as equivocate" in record.applied
    argv = ctx.nodes["n1"].host.service("node-n1").argv
    assert argv[1:5] == ("-m", "carbonlab.rig.byzantine", "--mode", "equivocate")
    for _ in range(3):
        assert submit(c, feed.next_batch(), honest)["status"] == "committed"
    journal.heal(fault)
    assert "-m" not in ctx.nodes["n1"].host.service("node-n1").argv[:2]
    assert submit(c, feed.next_batch(), honest)["status"] == "committed"
    c.wait_height(5, list(c.members), timeout_s=90)
    ledgers = {m: c.root / "data" / m / "ledger.sqlite" for m in c.members}
    assert agreement(ledgers).passed
    assert validity(ledgers, c.genesis).passed


def counters(url: str, name: str) -> dict[str, float]:
    """label set -> value of one counter family from a node's /metrics."""
    deadline = time.monotonic() + 30
    while True:
        try:
            text = httpx.get(f"{url}/metrics", timeout=5).text
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


@pytest.mark.parametrize("mode", ["conflicting_votes", "forge", "replay", "silent"])
def test_each_byzantine_mode_takes_effect_and_heals(cluster: tuple[LocalCluster, FaultContext],
                                                    mode: str) -> None:
    c, ctx = cluster
    feed = c.feeds()[0]
    honest = ["n2", "n3", "n4"]
    assert submit(c, feed.next_batch(), honest)["status"] == "committed"
    journal = FaultJournal(ctx)
    fault = make_fault("node.byzantine", "n1", {"mode": mode})
    record = journal.apply(fault)
    assert f"restarted as {mode}" in record.applied
    argv = ctx.nodes["n1"].host.service("node-n1").argv
    assert argv[1:5] == ("-m", "carbonlab.rig.byzantine", "--mode", mode)
    before = {m: counters(c.url(m), "carbonlab_") for m in c.members}
    # How the honest members refuse each kind of lie (counted by reason). A vote replayed after
    # the view moved on (the restart itself may move it) is old_view; a forgery is whatever
    # its damage makes it. The liar replays after about a third of its sends and forges after
    # about a fifth (seeded: with seed 0 the first forgery is its 26th send), so blocks are
    # committed until the refusals show, at most 40.
    refused = {"replay": ("duplicate", "old_view", "below_watermark", "stale_checkpoint"),
               "forge": ("undecodable", "malformed", "unknown_kind", "bad_signature", "above_watermark",
                         "old_view")}.get(mode, ())
    after: dict[str, dict[str, float]] = {}

    def grew(member: str, prefix: str) -> float:
        return sum(v - before[member].get(k, 0.0) for k, v in after[member].items() if k.startswith(prefix))

    def refusals() -> float:
        return sum(grew(m, f'carbonlab_replica_dropped_total{{reason="{r}"}}')
                   for m in honest for r in refused)

    for block in range(40):
        assert submit(c, feed.next_batch(), honest)["status"] == "committed"
        if block >= 3:
            after = {m: counters(c.url(m), "carbonlab_") for m in c.members}
            if not refused or refusals() > 0:
                break
    liar_votes = sum(grew("n1", f'carbonlab_messages_total{{direction="out",type="{t}"}}')
                     for t in ("pre_prepare", "prepare", "commit"))
    if mode == "silent":          # blocks committed without a word from n1
        assert liar_votes == 0
    else:
        assert liar_votes > 0
    if refused:                   # the lies reached the honest members and were refused there
        assert refusals() > 0, {m: {k: v - before[m].get(k, 0.0) for k, v in after[m].items()
                                    if "dropped" in k and v != before[m].get(k, 0.0)} for m in c.members}
    journal.heal(fault)
    assert "-m" not in ctx.nodes["n1"].host.service("node-n1").argv[:2]
    assert submit(c, feed.next_batch(), honest)["status"] == "committed"
    top = max(int(httpx.get(f"{c.url(m)}/v1/status", timeout=5).json()["height"]) for m in honest)
    c.wait_height(top, list(c.members), timeout_s=90)
    ledgers = {m: c.root / "data" / m / "ledger.sqlite" for m in c.members}
    assert agreement(ledgers).passed
    assert validity(ledgers, c.genesis).passed
