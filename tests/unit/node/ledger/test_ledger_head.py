"""The signed head on real SQLite files: a cut tail, a fork, an older head, heads that do not verify."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from carbonlab.node import codec, contract
from carbonlab.node.block import checkpoint_vote_bytes
from carbonlab.node.contract import ContractState
from carbonlab.node.errors import SchemaError
from carbonlab.node.ledger import Ledger, aggregate
from carbonlab.node.ledger.head import HeadError, SignedHead
from carbonlab.node.ledger.state import save_state
from carbonlab.node.ledger.verify import verify_ledger
from tests.unit.node.factories import Kit, make_kit

BLOCKS = 6


def build(path: Path, blocks: int = BLOCKS, *, fork_at: int | None = None) -> tuple[Kit, SignedHead]:
    """`blocks` blocks of two batches (one, from gw1 only, at `fork_at`), a stable checkpoint at
    4; returns the kit and the ledger's signed head."""
    kit = make_kit()
    with Ledger.open(path, kit.genesis) as ledger:
        for h in range(1, blocks + 1):
            requests = [kit.next_batch("gw1").encode()]
            if h != fork_at:
                requests.append(kit.next_batch("gw2").encode())
            ledger.commit(*kit.certified(h, requests))
            if h == 4:
                message = checkpoint_vote_bytes(kit.chain_id, 4, ledger.head_hash)
                ledger.put_checkpoint(4, ledger.head_hash, [(m, kit.members[m].sign(message))
                                                            for m in kit.genesis.member_ids[:3]])
        head = ledger.signed_head()
    assert head is not None
    return kit, head


def cut_tail(path: Path, kit: Kit, keep: int) -> None:
    """What an insider does: delete the last blocks with their rows and the checkpoint, and
    rewrite the contract-state tables to what the contract says after block `keep`."""
    with Ledger.open_readonly(path, kit.genesis) as ledger:
        proposals = [b.proposal for b in ledger.blocks(1, keep)]
    state = ContractState()
    for proposal in proposals:
        contract.execute(kit.genesis, state, proposal)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        for table in ("blocks", "batches", "readings"):
            db.execute(f"DELETE FROM {table} WHERE height > ?", (keep,))
        db.execute("DELETE FROM checkpoints")
        aggregate.fill(db)   # the derived day sums too: a thorough insider
        db.execute("DELETE FROM gateway_state")
        db.execute("DELETE FROM meter_state")
        save_state(db, state, state.last_batch_seq, state.last_reading_seq)
        db.execute("COMMIT")
    finally:
        db.close()


def test_a_cut_tail_is_truncated_against_the_signed_head(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    kit, head = build(path)
    cut_tail(path, kit, keep=4)
    alone = verify_ledger(path, kit.genesis)
    assert alone.ok, alone.problems  # one file cannot show what was cut from its end
    report = verify_ledger(path, kit.genesis, head)
    assert report.problems == [f"height 5: truncated: ends at 4, the consortium's signed head is {BLOCKS}"]
    assert report.summary() == "FAILED: 1 problem(s) in 4 blocks"


def test_a_complete_or_longer_ledger_verifies_against_the_head(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    kit, head = build(path)
    report = verify_ledger(path, kit.genesis, head)
    assert report.problems == []
    assert report.summary() == (f"ok: {BLOCKS} blocks, {3 * BLOCKS} readings verified, complete up to "
                                f"the consortium's signed head at {BLOCKS}")
    _, older = build(tmp_path / "short.db", blocks=4)
    assert verify_ledger(path, kit.genesis, older).ok


def test_another_block_at_the_heads_height_is_a_fork(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    kit, _ = build(path)
    _, other = build(tmp_path / "other.db", blocks=5, fork_at=5)
    report = verify_ledger(path, kit.genesis, other)
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith("height 5: fork: block 5 holds proposal ")
    assert "the consortium's signed head certifies" in report.problems[0]


def test_the_same_proposal_under_another_link_is_a_fork_below(tmp_path: Path) -> None:
    """The commit certificate covers the proposal, not `prev_hash`: a head whose link differs
    comes from a chain that differs below its height."""
    path = tmp_path / "l.db"
    kit, head = build(path)
    relinked = replace(head, header=replace(head.header, prev_hash=bytes(32)))
    assert relinked.problem(kit.genesis) is None
    (problem,) = verify_ledger(path, kit.genesis, relinked).problems
    assert problem.startswith(f"height {BLOCKS}: fork: block {BLOCKS} has the certified proposal but hash ")
    assert f"prev_hash {head.header.prev_hash.hex()[:16]} vs {'0' * 16}" in problem


def _bad_signature(head: SignedHead, kit: Kit) -> SignedHead:
    sigs = list(head.certificate.signatures)
    sigs[1] = (sigs[1][0], sigs[2][1])
    return replace(head, certificate=replace(head.certificate, signatures=tuple(sigs)))


def _short_of_quorum(head: SignedHead, kit: Kit) -> SignedHead:
    return replace(head, certificate=replace(head.certificate,
                                             signatures=head.certificate.signatures[:2]))


def _raised_height(head: SignedHead, kit: Kit) -> SignedHead:
    """Claim a longer chain with the real certificate of the real head."""
    return replace(head, header=replace(head.header, height=head.height + 10))


def _altered_header(head: SignedHead, kit: Kit) -> SignedHead:
    return replace(head, header=replace(head.header, timestamp_ms=head.header.timestamp_ms + 1))


def _other_genesis(head: SignedHead, kit: Kit) -> SignedHead:
    return replace(head, genesis_hash=make_kit(n=7).genesis.hash)


BAD_HEADS: list[tuple[str, Callable[[SignedHead, Kit], SignedHead], str]] = [
    ("bad signature", _bad_signature, f"block {BLOCKS} certificate: bad signature by 'n2'"),
    ("short of quorum", _short_of_quorum, f"block {BLOCKS} certificate: 2 signatures, 3 needed"),
    ("raised height", _raised_height, "do not reproduce its proposal_digest"),
    ("altered header", _altered_header, "do not reproduce its proposal_digest"),
    ("other genesis", _other_genesis, "made under another genesis"),
]


@pytest.mark.parametrize(("name", "spoil", "why"), BAD_HEADS, ids=[b[0] for b in BAD_HEADS])
def test_a_head_that_does_not_verify_is_refused_naming_why(
        tmp_path: Path, name: str, spoil: Callable[[SignedHead, Kit], SignedHead], why: str) -> None:
    path = tmp_path / "l.db"
    kit, head = build(path)
    with pytest.raises(HeadError, match="the signed head does not verify: ") as caught:
        verify_ledger(path, kit.genesis, spoil(head, kit))
    assert why in str(caught.value)


def test_a_certificate_of_another_height_names_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    kit, head = build(path)
    with Ledger.open_readonly(path, kit.genesis) as ledger:
        block = ledger.block(BLOCKS - 1)
    assert block is not None
    spoiled = replace(head, certificate=block.certificate)
    assert spoiled.problem(kit.genesis) == (
        f"the certificate is for seq {BLOCKS - 1}, not the header's height {BLOCKS} and proposal "
        f"digest {block.certificate.digest.hex()[:16]}, not the header's "
        f"{head.header.proposal_digest.hex()[:16]}")


def test_json_and_canonical_encoding_round_trip(tmp_path: Path) -> None:
    _, head = build(tmp_path / "l.db")
    assert SignedHead.from_json(head.to_json()) == head
    assert codec.decode(head.encode()) == codec.decode(codec.encode(head.to_wire()))
    data = head.to_json()
    data["height"] += 1
    with pytest.raises(SchemaError, match=r"^head\.height: 7 is not the header's height 6$"):
        SignedHead.from_json(data)
    data = head.to_json()
    data["certificate"]["signatures"][0][1] = "zz"
    with pytest.raises(SchemaError, match=r"^head\.certificate\.signatures\[0\]\[1\]: "):
        SignedHead.from_json(data)
    with pytest.raises(SchemaError, match=r"^head\.format: "):
        SignedHead.from_json({**head.to_json(), "format": "carbonlab-signed-head/0"})


def test_no_head_before_the_first_block(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.signed_head() is None
