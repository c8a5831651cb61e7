"""PBFT tied to the paper: Castro & Liskov, "Practical Byzantine Fault Tolerance", OSDI 1999.

Each test is named after the section it checks and quotes the sentence.
"""

from __future__ import annotations

from carbonlab.node import codec
from carbonlab.node.block import Proposal, commit_vote_bytes
from carbonlab.node.pbft.envelope import seal
from carbonlab.node.pbft.messages import (
    Checkpoint,
    Commit,
    Kind,
    NewView,
    Prepare,
    PrePrepare,
    ViewChange,
)
from tests.unit.node.pbft.cluster import Cluster, kind_of

PARAMS = {"checkpoint_interval": 2, "watermark_window": 4, "max_block_batches": 4,
          "batch_delay_ms": 0, "request_timeout_ms": 100, "view_change_timeout_ms": 100}


def commit_one(c: Cluster, gateway: str = "gw1") -> bytes:
    data = c.batch(gateway)
    c.submit("n1", data)
    c.deliver()
    return data


# ---- 4.2 normal-case operation ----------------------------------------------------------

def test_4_2_three_phases_commit_and_execute_in_order() -> None:
    """4.2: "The three phases are pre-prepare, prepare, and commit." and "Each replica i executes
    the operation requested by m after committed-local(m, v, n, i) is true and i's state reflects
    the sequential execution of all requests with lower sequence numbers." """
    c = Cluster(4, PARAMS)
    commit_one(c)
    kinds = [kind_of(d) for _, _, d in c.sent]
    assert kinds[:1] == [Kind.PRE_PREPARE]
    assert Kind.PREPARE in kinds
    assert Kind.COMMIT in kinds
    assert c.heights() == dict.fromkeys(c.ids, 1)
    for _proposal, cert in (s.blocks[0] for s in c.stores.values()):
        assert cert.check(c.genesis.chain_id, c.genesis.member_keys, c.genesis.quorum) is None
    assert c.agree()


def test_4_2_backup_refuses_second_digest_for_same_view_and_seq() -> None:
    """4.2: a backup accepts a pre-prepare provided "it has not accepted a pre-prepare message for
    view v and sequence number n containing a different digest"."""
    c = Cluster(4, PARAMS)
    p1 = Proposal(c.genesis.chain_id, 1, 1, "n1", (c.batch(),))
    p2 = Proposal(c.genesis.chain_id, 1, 2, "n1", (c.batch(),))
    signer = c.kit.members["n1"]
    c.inject("n2", seal(signer, c.genesis.chain_id, "n1", PrePrepare(0, p1)))
    c.inject("n2", seal(signer, c.genesis.chain_id, "n1", PrePrepare(0, p2)))
    assert c.replica("n2").dropped["conflicting_pre_prepare"] == 1
    prepares = [codec.decode(d)[2] for s, _, d in c.sent if s == "n2" and kind_of(d) == Kind.PREPARE]
    assert {bytes(p[2]) for p in prepares} == {p1.digest}


def test_4_2_pre_prepare_only_in_view_and_between_watermarks() -> None:
    """4.2: a backup accepts a pre-prepare provided "it is in view v" and "the sequence number in
    the pre-prepare message is between a low water mark, h, and a high water mark, H"."""
    c = Cluster(4, PARAMS)
    signer = c.kit.members["n1"]
    far = Proposal(c.genesis.chain_id, 1 + PARAMS["watermark_window"], 1, "n1", ())
    c.inject("n2", seal(signer, c.genesis.chain_id, "n1", PrePrepare(0, far)))
    other_view = Proposal(c.genesis.chain_id, 1, 1, "n1", ())
    c.inject("n2", seal(signer, c.genesis.chain_id, "n1", PrePrepare(1, other_view)))
    not_primary = Proposal(c.genesis.chain_id, 1, 1, "n3", ())
    c.inject("n2", seal(c.kit.members["n3"], c.genesis.chain_id, "n3", PrePrepare(0, not_primary)))
    d = c.replica("n2").dropped
    assert (d["above_watermark"], d["future_view"], d["not_primary"]) == (1, 1, 1)
    assert not [x for x in c.sent if x[0] == "n2"]


def test_4_2_prepared_needs_2f_prepares_from_backups() -> None:
    """4.2: "We define the predicate prepared(m, v, n, i) to be true if and only if replica i has
    inserted in its log: the request m, a pre-prepare for m in view v with sequence number n, and
    2f prepares from different backups that match the pre-prepare." """
    c = Cluster(4, PARAMS)    # f = 1
    p = Proposal(c.genesis.chain_id, 1, 1, "n1", (c.batch(),))
    c.inject("n2", seal(c.kit.members["n1"], c.genesis.chain_id, "n1", PrePrepare(0, p)))
    assert not c.replica("n2").agreement.prepared          # its own prepare only: 1 of 2f = 2
    c.inject("n2", seal(c.kit.members["n3"], c.genesis.chain_id, "n3", Prepare(0, 1, b"\1" * 32)))
    assert not c.replica("n2").agreement.prepared          # a prepare that does not match
    c.inject("n2", seal(c.kit.members["n4"], c.genesis.chain_id, "n4", Prepare(0, 1, p.digest)))
    assert c.replica("n2").agreement.prepared[1].proposal == p
    assert [kind_of(d) for s, _, d in c.sent if s == "n2"] == [Kind.PREPARE, Kind.COMMIT]


def test_4_2_commit_signatures_form_an_offline_certificate() -> None:
    """4.2: "committed-local(m, v, n, i) is true if and only if prepared(m, v, n, i) is true and i
    has accepted 2f + 1 commits (possibly including its own) from different replicas that match
    the pre-prepare for m". Those 2f + 1 COMMIT signatures are the block's certificate."""
    c = Cluster(7, PARAMS)
    commit_one(c)
    proposal, cert = c.stores["n5"].blocks[0]
    assert len(cert.signatures) == c.genesis.quorum == 5
    assert cert.digest == proposal.digest
    message = commit_vote_bytes(c.genesis.chain_id, cert.view, cert.seq, cert.digest)
    assert all(c.kit.members[m].sign(message) == s for m, s in cert.signatures)


def test_4_2_pipelining_several_sequence_numbers_in_flight() -> None:
    """4.2: the primary assigns sequence numbers without waiting; "the low-water mark h is equal to
    the sequence number of the last stable checkpoint" and H = h + k bounds what is in flight."""
    c = Cluster(4, {**PARAMS, "max_block_batches": 1})
    for g in ("gw1", "gw2"):
        c.submit("n1", c.batch(g))
    pre_prepares = [d for s, _, d in c.sent if kind_of(d) == Kind.PRE_PREPARE]
    assert len(pre_prepares) == 2               # two proposals broadcast before any reply
    c.deliver()
    assert c.heights() == dict.fromkeys(c.ids, 2)


# ---- 4.3 garbage collection --------------------------------------------------------------

def test_4_3_checkpoint_becomes_stable_and_log_is_discarded() -> None:
    """4.3: "a checkpoint with a proof becomes stable" once a replica has 2f + 1 checkpoint messages
    for it, and then "the replica discards all pre-prepare, prepare, and commit messages with
    sequence number less than or equal to n from its log"."""
    c = Cluster(4, PARAMS)
    commit_one(c, "gw1")
    commit_one(c, "gw2")
    for m in c.ids:
        r = c.replica(m)
        assert r.stable.seq == 2
        assert len(r.stable.signatures) == c.genesis.quorum
        assert not r.agreement.log.slots
        assert not r.agreement.prepared
        assert not [k for k in r.agreement.signed if k[2] <= 2]
    assert any(codec.decode(rec)[0] == "checkpoint" for rec in c.stores["n3"].records)


def test_4_3_checkpoint_signs_the_ledger_block_hash() -> None:
    """4.3: checkpoint messages carry "the digest of the state"; here the hash of the block at n."""
    c = Cluster(4, PARAMS)
    commit_one(c, "gw1")
    commit_one(c, "gw2")
    assert c.replica("n2").stable.block_hash == c.stores["n2"].head_hash


def test_4_3_conflicting_checkpoint_votes_do_not_count_twice() -> None:
    """4.3: the proof is 2f + 1 checkpoint messages "from different replicas"."""
    c = Cluster(4, PARAMS)
    s3 = c.kit.members["n3"]
    c.inject("n2", seal(s3, c.genesis.chain_id, "n3", Checkpoint(2, b"\1" * 32)))
    c.inject("n2", seal(s3, c.genesis.chain_id, "n3", Checkpoint(2, b"\2" * 32)))
    c.inject("n2", seal(c.kit.members["n4"], c.genesis.chain_id, "n4", Checkpoint(2, b"\1" * 32)))
    assert c.replica("n2").stable.seq == 0
    assert c.replica("n2").dropped["conflicting_checkpoint"] == 1


# ---- 4.4 view changes ----------------------------------------------------------------------

def test_4_4_backup_timer_expiry_starts_view_change() -> None:
    """4.4: "If the timer of backup i expires in view v, the backup starts a view change to move
    the system to view v + 1." A silent primary is replaced and the request commits."""
    c = Cluster(4, PARAMS)
    c.drop = lambda sender, to, data: sender == "n1"
    data = c.batch()
    c.submit("n2", data)
    c.tick(1000)
    assert all(c.replica(m).view >= 1 for m in ("n2", "n3", "n4"))
    assert all(c.heights()[m] == 1 for m in ("n2", "n3", "n4"))


def test_4_4_view_change_carries_prepared_certificates_and_o_reproposes_them() -> None:
    """4.4: the view-change message carries "P, a set containing a set P_m for each request m that
    prepared at i with a sequence number higher than n", and the new primary's O contains "a new
    pre-prepare message for view v + 1 for each sequence number n between min-s and max-s"."""
    c = Cluster(4, PARAMS)
    # Everyone prepares seq 1, but every COMMIT is lost: nobody executes it in view 0.
    c.drop = lambda sender, to, data: kind_of(data) == Kind.COMMIT
    data = c.batch()
    c.submit("n1", data)
    c.deliver()
    assert all(c.replica(m).agreement.prepared for m in c.ids)
    assert c.heights()["n2"] == 0
    c.drop = lambda sender, to, data: sender == "n1"    # now the primary goes silent
    c.submit("n2", c.batch("gw2"))
    c.tick(1500)
    new_view = [d for s, _, d in c.sent if s == "n2" and kind_of(d) == Kind.NEW_VIEW]
    assert new_view, "n2 (primary of view 1) sent no NEW-VIEW"
    nv = NewView.from_wire(codec.decode(new_view[0])[2])
    assert nv.pre_prepares[0][0].requests == (data,)   # re-proposed unchanged: same digest
    for m in ("n2", "n3", "n4"):
        assert c.stores[m].blocks[0][0].requests == (data,)


def test_4_4_backup_recomputes_o_and_rejects_a_forged_new_view() -> None:
    """4.4: "A backup accepts a new-view message for view v + 1 if it is signed properly, if the
    view-change messages it contains are valid for view v + 1, and if the set O is correct"."""
    c = Cluster(4, PARAMS)
    chain = c.genesis.chain_id
    vcs = tuple(seal(c.kit.members[m], chain, m, ViewChange(1, c.replica(m).stable, ()))
                for m in ("n2", "n3", "n4"))
    sneaked = Proposal(chain, 1, 5, "n2", (c.batch(),))    # O must be empty: nothing prepared
    s2 = c.kit.members["n2"]
    forged = NewView(1, vcs, ((sneaked, s2.sign(PrePrepare(1, sneaked).vote_bytes(chain))),))
    c.inject("n3", seal(s2, chain, "n2", forged))
    assert c.replica("n3").dropped["new_view_o_mismatch"] == 1
    assert c.replica("n3").view == 0
    short = NewView(1, vcs[:2], ())
    c.inject("n3", seal(s2, chain, "n2", short))
    assert c.replica("n3").dropped["new_view_short"] == 1
    good = NewView(1, vcs, ())
    c.inject("n3", seal(s2, chain, "n2", good))
    assert c.replica("n3").view == 1
    assert not c.replica("n3").view_changing


def test_4_4_f_plus_1_view_changes_pull_a_replica_along() -> None:
    """4.4 (liveness): "if a replica receives a set of f + 1 valid view-change messages from other
    replicas for views greater than its current view, it sends a view-change message for the
    smallest view in the set, even if its timer has not expired"."""
    c = Cluster(4, PARAMS)    # f + 1 = 2
    chain = c.genesis.chain_id
    c.inject("n4", seal(c.kit.members["n2"], chain, "n2", ViewChange(3, c.replica("n4").stable, ())))
    assert c.replica("n4").view == 0
    c.inject("n4", seal(c.kit.members["n3"], chain, "n3", ViewChange(2, c.replica("n4").stable, ())))
    assert c.replica("n4").view == 2
    assert c.replica("n4").view_changing


def test_4_4_view_change_timer_backs_off() -> None:
    """4.4: "If the timer expires before it receives a valid new-view message for v + 1 ... it
    starts the view change for view v + 2 but this time it will wait 4T" (we double: 2T)."""
    c = Cluster(4, PARAMS)
    c.drop = lambda sender, to, data: True             # nobody hears anybody
    for m in ("n2", "n3", "n4"):
        r = c.replica(m)
        r.view_change.votes.clear()
    r = c.replica("n3")
    from carbonlab.node.pbft import viewchange
    viewchange.start(r, 1)
    for m in ("n2", "n4"):                             # two others also want view 1: 2f + 1 = 3
        vc = ViewChange(1, r.stable, ())
        r.view_change.votes[1][m] = (vc, b"")
    viewchange.maybe_new_view(r)
    first = r.view_change.deadline_ms
    assert first == c.now_ms + PARAMS["view_change_timeout_ms"]
    c.handle("n3", r.tick(first))
    assert r.view == 2


def test_4_5_commit_of_a_request_survives_the_view_change() -> None:
    """4.5.1 (safety): "the view-change protocol ensures that non-faulty replicas also agree on the
    sequence number of requests that commit locally in different views at different replicas"."""
    c = Cluster(4, PARAMS)
    # n2 alone gets all commits for seq 1 (committed-local there); others lose them.
    c.drop = lambda sender, to, data: kind_of(data) == Kind.COMMIT and to != "n2"
    data = c.batch()
    c.submit("n1", data)
    c.deliver()
    assert c.heights() == {"n1": 0, "n2": 1, "n3": 0, "n4": 0}
    c.drop = lambda sender, to, data: sender == "n1" or to == "n1"
    c.submit("n3", c.batch("gw2"))
    c.tick(2000)
    for m in ("n2", "n3", "n4"):
        assert c.stores[m].blocks[0][0].requests == (data,)
    assert c.agree()


def test_commit_vote_is_what_the_signature_covers() -> None:
    """The COMMIT envelope's signature is exactly the certificate vote (block.commit_vote_bytes)."""
    c = Cluster(4, PARAMS)
    d = b"\7" * 32
    data = seal(c.kit.members["n2"], c.genesis.chain_id, "n2", Commit(0, 1, d))
    sig = codec.decode(data)[3]
    assert c.kit.members["n2"].sign(commit_vote_bytes(c.genesis.chain_id, 0, 1, d)) == sig
