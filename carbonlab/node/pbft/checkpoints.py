"""Checkpoints and garbage collection (paper section 4.3).

Every K = checkpoint_interval blocks a replica signs the hash of the block it just
executed and broadcasts a CHECKPOINT. 2f + 1 matching signatures make the checkpoint
stable: the low watermark moves to it and the log, the prepared certificates and the
older votes below it are discarded. A stable checkpoint above our own height proves
that we lag: its signers hold the blocks, so we fetch them (state transfer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carbonlab.node.pbft import records, transfer
from carbonlab.node.pbft.actions import StableCheckpoint
from carbonlab.node.pbft.envelope import Rejected
from carbonlab.node.pbft.messages import Checkpoint, CheckpointProof

if TYPE_CHECKING:
    from carbonlab.node.pbft.replica import Replica


def take(r: Replica, seq: int, block_hash: bytes) -> None:
    """We executed block `seq` (a multiple of K): sign and broadcast its hash."""
    if seq <= r.stable.seq:
        return
    r.checkpoints.block_hashes[seq] = block_hash
    data = r.broadcast(Checkpoint(seq, block_hash))
    r.checkpoints.mine[seq] = data
    r.checkpoints.votes.setdefault(seq, {})[r.id] = (block_hash, data[-64:])
    check_stable(r, seq)


def on_checkpoint(r: Replica, sender: str, body: Checkpoint, sig: bytes, raw: bytes) -> None:
    votes = r.checkpoints.votes.setdefault(body.seq, {})
    old = votes.get(sender)
    if old is not None:
        raise Rejected("duplicate" if old[0] == body.block_hash else "conflicting_checkpoint")
    votes[sender] = (body.block_hash, sig)
    check_stable(r, body.seq)


def check_stable(r: Replica, seq: int) -> None:
    votes = r.checkpoints.votes.get(seq, {})
    by_hash: dict[bytes, list[tuple[str, bytes]]] = {}
    for member, (block_hash, sig) in votes.items():
        by_hash.setdefault(block_hash, []).append((member, sig))
    for block_hash, sigs in by_hash.items():
        if len(sigs) < r.genesis.quorum:
            continue
        mine = r.checkpoints.block_hashes.get(seq)
        if r.last_executed >= seq and mine is not None and mine != block_hash:
            r.dropped["checkpoint_hash_mismatch"] += 1
            return
        make_stable(r, CheckpointProof(seq, block_hash, tuple(sorted(sigs)[: r.genesis.quorum])))
        return


def make_stable(r: Replica, proof: CheckpointProof) -> None:
    """Move the low watermark to a proven checkpoint and collect garbage below it."""
    if proof.seq <= r.stable.seq:
        return
    r.checkpoints.stable = proof
    r.persist(records.checkpoint_record(proof))
    r.emit(StableCheckpoint(proof))
    r.agreement.collect_garbage(proof.seq)
    r.checkpoints.collect_garbage(proof.seq)
    r.requests.collect_garbage(proof.seq - 4 * r.params.watermark_window)
    if r.last_executed < proof.seq:
        for member, _ in proof.signatures:
            if member != r.id:
                r.transfer.peer_heights[member] = max(r.transfer.peer_heights.get(member, 0), proof.seq)
        transfer.maybe_fetch(r)
