"""The SmartBFT-style scenario list (issue 2 item 5), each on real replicas with real keys."""

from __future__ import annotations

import re

import pytest

from carbonlab.node import codec
from carbonlab.node.block import Proposal
from carbonlab.node.pbft import records
from carbonlab.node.pbft.envelope import seal
from carbonlab.node.pbft.messages import Blocks, Kind, PrePrepare
from carbonlab.node.sim.faults import FaultPlan
from carbonlab.node.sim.network import LinkFaults
from carbonlab.node.sim.world import World
from tests.unit.node.pbft.cluster import Cluster, kind_of

PARAMS = {"checkpoint_interval": 2, "watermark_window": 4, "max_block_batches": 4,
          "batch_delay_ms": 0, "request_timeout_ms": 100, "view_change_timeout_ms": 100}
MEMBERS7 = tuple(f"n{i}" for i in range(1, 8))


def run_world(plan: FaultPlan, seed: int = 7, steps: int = 150, n: int = 7) -> World:
    world = World(seed, n=n, steps=steps, plan=plan)
    result = world.run()
    assert result.ok, "\n".join(result.violations + result.transcript)
    return world


def test_leader_in_a_partition_is_replaced_and_catches_up() -> None:
    part = [frozenset({"n1"}), frozenset(MEMBERS7[1:])]
    world = run_world(FaultPlan("network", partitions=[(0, 140, part)]))
    views = {n.replica.view for n in world.honest_nodes() if n.replica}
    assert min(views) >= 1, "the isolated primary was never replaced"
    heights = {n.height for n in world.honest_nodes()}
    assert len(heights) == 1, "the old leader did not catch up after the partition healed"
    assert world.nodes["n1"][0].height == max(heights)


def test_restarted_followers_catch_up() -> None:
    plan = FaultPlan("crash", crashes=[(10, "n3", 90), (20, "n6", 120)],
                     link=LinkFaults(0.02, 0.0, 1, 10))
    world = run_world(plan)
    assert world.nodes["n3"][0].restarts >= 1
    assert len({n.height for n in world.honest_nodes()}) == 1


def test_catching_up_during_a_view_change() -> None:
    # The primary is silent (view change) while n4 is down; n4 comes back in the middle of it.
    plan = FaultPlan("mixed", byzantine={"n1": "silent"}, crashes=[(5, "n4", 60)])
    world = run_world(plan)
    n4 = world.nodes["n4"][0]
    assert n4.replica is not None
    assert n4.replica.view >= 1
    assert n4.height == max(n.height for n in world.honest_nodes())


def test_leader_modifies_a_pre_prepare() -> None:
    """An equivocating primary sends two proposals for one (view, seq): no fork, view change."""
    world = run_world(FaultPlan("byzantine", byzantine={"n1": "equivocate"}))
    assert all(n.replica and n.replica.view >= 1 for n in world.honest_nodes())
    conflicts = sum(n.replica.dropped["conflicting_pre_prepare"] for n in world.honest_nodes()
                    if n.replica)
    assert conflicts > 0


def test_view_change_after_a_fork_attempt() -> None:
    """Equivocating primary plus a member sending conflicting votes: honest replicas still agree."""
    plan = FaultPlan("byzantine", byzantine={"n1": "equivocate", "n5": "conflicting_votes"},
                     link=LinkFaults(0.02, 0.02, 1, 20))
    world = run_world(plan, seed=11)
    assert world.checker.hashes, "nothing was committed"


@pytest.mark.parametrize("behaviour", ["forge", "replay", "silent", "twins", "conflicting_votes"])
def test_byzantine_backups_do_not_stop_progress(behaviour: str) -> None:
    world = run_world(FaultPlan("byzantine", byzantine={"n4": behaviour, "n6": behaviour}), seed=3)
    assert max(n.height for n in world.honest_nodes()) > 0


def test_a_replica_that_committed_crashes_and_recovers() -> None:
    c = Cluster(4, PARAMS)
    c.submit("n1", c.batch("gw1"))
    c.deliver()
    assert c.heights()["n2"] == 1
    c.crash("n2")
    c.submit("n1", c.batch("gw2"))
    c.deliver()
    r = c.restart("n2")
    assert r.last_executed == 1
    c.tick(600)
    assert c.heights() == dict.fromkeys(c.ids, 2)
    assert c.agree()


def test_the_same_sequence_is_never_signed_twice_after_a_restart() -> None:
    """A restarted replica remembers (persisted before it sent) its PREPARE for (view, seq)."""
    c = Cluster(4, PARAMS)
    chain = c.genesis.chain_id
    p1 = Proposal(chain, 1, 1, "n1", (c.batch("gw1"),))
    c.inject("n2", seal(c.kit.members["n1"], chain, "n1", PrePrepare(0, p1)))
    assert any(codec.decode(rec)[0] == "prepare" for rec in c.stores["n2"].records)
    c.crash("n2")
    c.restart("n2")
    p2 = Proposal(chain, 1, 2, "n1", (c.batch("gw2"),))
    before = len(c.sent)
    c.inject("n2", seal(c.kit.members["n1"], chain, "n1", PrePrepare(0, p2)))
    assert c.replica("n2").dropped["would_equivocate"] == 1
    assert not [d for s, _, d in c.sent[before:] if s == "n2" and kind_of(d) == Kind.PREPARE]


def test_the_same_sequence_committed_twice_is_refused() -> None:
    """Blocks already executed, offered again by state transfer, are not executed again."""
    c = Cluster(4, PARAMS)
    c.submit("n1", c.batch("gw1"))
    c.deliver()
    blocks = c.stores["n1"].blocks
    actions = c.inject("n2", seal(c.kit.members["n1"], c.genesis.chain_id, "n1", Blocks(tuple(blocks))))
    assert not [a for a in actions if type(a).__name__ == "Execute"]
    assert c.replica("n2").dropped["blocks_nothing_new"] == 1
    assert c.heights()["n2"] == 1


def test_state_transfer_checks_every_certificate() -> None:
    c = Cluster(4, PARAMS)
    c.crash("n4")
    c.submit("n1", c.batch("gw1"))
    c.deliver()
    c.restart("n4")
    (proposal, cert), = c.stores["n1"].blocks
    forged = Proposal(proposal.chain_id, 1, proposal.timestamp_ms, proposal.proposer, ())
    chain = c.genesis.chain_id
    c.inject("n4", seal(c.kit.members["n1"], chain, "n1", Blocks(((forged, cert),))))
    short = type(cert)(cert.view, cert.seq, cert.digest, cert.signatures[:2])
    c.inject("n4", seal(c.kit.members["n1"], chain, "n1", Blocks(((proposal, short),))))
    d = c.replica("n4").dropped
    assert d["blocks_certificate_digest_mismatch"] == 1
    assert d["blocks_short_certificate"] == 1
    assert c.heights()["n4"] == 0
    c.inject("n4", seal(c.kit.members["n1"], chain, "n1", Blocks(((proposal, cert),))))
    assert c.heights()["n4"] == 1


def test_lagging_replica_learns_of_stable_checkpoint_and_fetches() -> None:
    c = Cluster(4, PARAMS)
    c.drop = lambda sender, to, data: to == "n4" and kind_of(data) != Kind.CHECKPOINT
    for g in ("gw1", "gw2"):
        c.submit("n1", c.batch(g))
        c.deliver()
    c.drop = lambda sender, to, data: False
    c.deliver()
    c.tick(300)
    assert c.heights()["n4"] == 2
    assert c.replica("n4").stable.seq == 2


def test_recovery_record_set_is_documented() -> None:
    """What a replica persists is exactly the record kinds records.py documents."""
    c = Cluster(4, PARAMS)
    c.drop = lambda sender, to, data: sender == "n1"
    c.submit("n2", c.batch())
    c.tick(1000)
    tags = {codec.decode(rec)[0] for s in c.stores.values() for rec in s.records}
    assert tags <= {"view", "pre_prepare", "prepare", "commit", "prepared", "checkpoint", "new_view"}
    assert {"view", "new_view", "prepare", "commit", "prepared"} <= tags
    for s in c.stores.values():
        records.load(s.records)   # every record reads back


def test_compacted_records_still_restart_the_replica() -> None:
    c = Cluster(4, PARAMS)
    for g in ("gw1", "gw2", "gw1"):
        c.submit("n1", c.batch(g))
        c.deliver()
    store = c.stores["n2"]
    compacted = records.compact(store.records)
    assert len(compacted) < len(store.records)
    full, small = records.load(store.records), records.load(compacted)
    assert small.view == full.view
    assert small.stable == full.stable
    assert {k: v for k, v in full.signed.items() if k[2] > 2} == small.signed
    c.crash("n2")
    store.records[:] = compacted
    c.restart("n2")
    c.submit("n1", c.batch("gw2"))
    c.deliver()
    c.tick(300)
    assert c.heights() == dict.fromkeys(c.ids, 4)


def test_an_unreadable_record_is_named_at_restart() -> None:
    from carbonlab.node.errors import SchemaError
    from carbonlab.node.pbft import RecoveredState, Replica

    c = Cluster(4, PARAMS)
    good = records.view_record(1)
    cases = ((b"\xc1", "consensus_record[1]"), (codec.encode(["bogus", 1]), "consensus_record[1][0]"))
    for bad, where in cases:
        rec = RecoveredState([good, bad], 0, c.genesis.hash)
        with pytest.raises(SchemaError, match=re.escape(where)):
            Replica(c.genesis, "n2", c.kit.members["n2"], recovered=rec)


def test_a_truncated_record_is_named_too() -> None:
    from carbonlab.node.errors import SchemaError

    with pytest.raises(SchemaError, match=re.escape("consensus_record[0]")):
        records.load([codec.encode(["prepare", 1])])
