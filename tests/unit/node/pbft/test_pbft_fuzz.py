"""Bad input: whatever a replica receives, it never raises, and f liars cannot make it execute."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbonlab.node import codec
from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.pbft import Execute
from carbonlab.node.pbft.envelope import peek_kind, seal
from carbonlab.node.pbft.messages import (
    Blocks,
    Checkpoint,
    CheckpointProof,
    Commit,
    Fetch,
    Kind,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Request,
    Status,
    ViewChange,
)
from tests.unit.node.pbft.cluster import Cluster

PARAMS = {"checkpoint_interval": 2, "watermark_window": 4, "max_block_batches": 4,
          "batch_delay_ms": 0, "request_timeout_ms": 100, "view_change_timeout_ms": 100}
CLUSTER = Cluster(4, PARAMS)          # f = 1: the liar is n4
CHAIN = CLUSTER.genesis.chain_id
LIAR = CLUSTER.kit.members["n4"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

small = st.integers(min_value=0, max_value=6)
seqs = st.integers(min_value=1, max_value=10)
digests = st.binary(min_size=32, max_size=32)
sigs = st.binary(min_size=64, max_size=64)
members = st.sampled_from(["n1", "n2", "n3", "n4", "zz"])
proposals = st.builds(lambda s, t, who, reqs: Proposal(CHAIN, s, t, who, tuple(reqs)),
                      seqs, small, members, st.lists(st.binary(max_size=40), max_size=3))
sig_lists = st.lists(st.tuples(members, sigs), max_size=4).map(tuple)
certs = st.builds(PreparedCertificate, small, proposals, sigs, sig_lists)
proofs = st.builds(CheckpointProof, st.sampled_from([0, 2, 4, 3]), digests, sig_lists)
bodies: st.SearchStrategy[Any] = st.one_of(
    st.builds(Request, st.binary(max_size=60)),
    st.builds(PrePrepare, small, proposals),
    st.builds(Prepare, small, seqs, digests),
    st.builds(Commit, small, seqs, digests),
    st.builds(Checkpoint, st.sampled_from([1, 2, 4, 8, 1000]), digests),
    st.builds(ViewChange, small, proofs, st.lists(certs, max_size=2).map(tuple)),
    st.builds(NewView, small, st.lists(st.binary(max_size=80), max_size=3).map(tuple),
              st.lists(st.tuples(proposals, sigs), max_size=2).map(tuple)),
    st.builds(Status, small, small),
    st.builds(Fetch, seqs, seqs),
    st.builds(Blocks, st.lists(st.tuples(proposals, st.builds(
        CommitCertificate, small, seqs, digests, sig_lists)), max_size=2).map(tuple)),
)


def fresh() -> Cluster:
    return Cluster(4, PARAMS)


@SETTINGS
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_random_bytes_are_dropped_and_counted(blobs: list[bytes]) -> None:
    c = fresh()
    r = c.replica("n2")
    for blob in blobs:
        assert r.receive(blob, 0) == []
    assert sum(r.dropped.values()) == len(blobs)


@SETTINGS
@given(st.lists(st.tuples(bodies, st.sampled_from(["n4", "n1"])), min_size=1, max_size=12))
def test_signed_lies_from_f_members_never_execute_or_raise(items: list[tuple[Any, str]]) -> None:
    """n4 signs anything with its real key; envelopes claiming n1 carry n4's signature (forged)."""
    c = fresh()
    executed = 0
    for body, claimed in items:
        data = seal(LIAR, CHAIN, claimed, body)
        for target in ("n1", "n2"):
            actions = c.replica(target).receive(data, c.now_ms)
            executed += sum(isinstance(a, Execute) for a in actions)
            c.handle(target, actions)
        c.inbox.clear()
    assert executed == 0
    for target in ("n1", "n2"):
        r = c.replica(target)
        assert r.last_executed == 0
        assert r.view <= 6


@SETTINGS
@given(st.data())
def test_mutated_real_messages_are_dropped_or_harmless(data: st.DataObject) -> None:
    c = fresh()
    c.submit("n1", c.batch())
    traffic = [d for _, _, d in c.sent]
    c.deliver()
    for _ in range(10):
        msg = bytearray(data.draw(st.sampled_from(traffic)))
        for _ in range(data.draw(st.integers(1, 3))):
            msg[data.draw(st.integers(0, len(msg) - 1))] = data.draw(st.integers(0, 255))
        c.replica("n3").receive(bytes(msg), c.now_ms)
    assert c.heights()["n3"] == 1


def test_oversized_and_wrong_types_are_counted_by_reason() -> None:
    c = fresh()
    r = c.replica("n2")
    r.receive(b"\x00" * (16 * 1024 * 1024 + 1), 0)
    r.receive(codec.encode(["n1", 99, [], b"\0" * 64]), 0)
    r.receive(codec.encode(["mallory", 3, [0, 1, b"\0" * 32], b"\0" * 64]), 0)
    r.receive(codec.encode(["n1", 3, [0, 1, b"\0" * 32], b"\0" * 64]), 0)
    r.receive(codec.encode(["n1", 3, [0, "one", b"\0" * 32], b"\0" * 64]), 0)
    assert r.dropped == {"oversized": 1, "unknown_kind": 1, "unknown_sender": 1, "bad_signature": 1,
                         "malformed": 1}


def test_replica_still_works_after_garbage() -> None:
    c = fresh()
    for blob in (b"", b"\x91", codec.encode([1, 2, 3, 4]), seal(LIAR, CHAIN, "n1", Prepare(0, 1, b"x" * 32))):
        for m in c.ids:
            c.replica(m).receive(blob, 0)
    c.submit("n1", c.batch())
    c.deliver()
    assert c.heights() == dict.fromkeys(c.ids, 1)


def test_peek_kind_reads_every_kind_from_the_header_only() -> None:
    for sender in ("n1", "member-with-a-name-longer-than-31-bytes"):   # fixstr and str8
        for kind in Kind:
            assert peek_kind(codec.encode([sender, int(kind), [], b"s" * 64])) == kind
            # the body is not read: a truncated envelope still names its kind
            assert peek_kind(codec.encode([sender, int(kind), b"x" * 300, b"s" * 64])[:60]) == kind
    assert peek_kind(codec.encode(["n1", 0, [], b"s" * 64])) is None        # not a kind
    assert peek_kind(codec.encode(["n1", 99, [], b"s" * 64])) is None
    assert peek_kind(codec.encode([1, 2, 3, 4])) is None                   # sender not a str
    assert peek_kind(codec.encode(["n1", 2, 3])) is None                   # not a 4-array
    assert peek_kind(b"") is None


def test_status_and_peek_kind_for_the_driver() -> None:
    c = fresh()
    c.submit("n1", c.batch())
    assert peek_kind(c.sent[0][2]) == Kind.PRE_PREPARE
    assert peek_kind(b"\xc1") is None
    c.deliver()
    s = c.replica("n3").status()
    assert s["height"] == 1
    assert s["primary"] == "n1"
    assert s["lag"] == 0
