"""Normal-case operation (paper section 4.2): PRE-PREPARE, PREPARE, COMMIT, execution.

The primary cuts a block when `max_block_batches` requests are waiting or the oldest
has waited `batch_delay_ms`, as long as the sequence number stays below the high
watermark, so several blocks are in flight at once, and (when the replica has a
`max_in_flight`) as long as fewer than that many of its blocks are proposed and not yet
executed. That bound makes blocks grow with the load instead of their number: every block
costs each member the same three rounds of signed messages whatever it holds, so at a high
rate a few large blocks cost far less than many small ones, and at a low rate nothing waits
(one block in flight). Under a bound, a block that is not full goes only when none of the
primary's blocks is in flight: a second block in flight is worth its messages only when the
first could take no more (`partial_may_go`); below that, what arrives meanwhile waits and
the next block is larger. When a block executes the primary proposes what waited at once.
Execution is strictly in sequence order; a block with its commit certificate may come from
the log or from state transfer. (Requests, their dedupe and the backups' timers are in `requests.py`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carbonlab.node import codec
from carbonlab.node.block import BlockHeader, CommitCertificate, Proposal
from carbonlab.node.pbft import checkpoints, records
from carbonlab.node.pbft.actions import Execute, Send
from carbonlab.node.pbft.envelope import Rejected, seal_with
from carbonlab.node.pbft.log import Slot
from carbonlab.node.pbft.messages import Commit, Kind, Prepare, PrePrepare
from carbonlab.node.pbft.requests import request_key

if TYPE_CHECKING:
    from carbonlab.node.pbft.replica import Replica



# ---- the primary proposes --------------------------------------------------------------

DEFAULT_MAX_IN_FLIGHT = 4
"""NODE.toml's `max_blocks_in_flight` when not given (the simulator's sweeps use it too)."""


def in_flight(r: Replica) -> int:
    """The primary's blocks proposed and not yet executed."""
    return r.agreement.next_seq - 1 - r.last_executed


def pipeline_full(r: Replica) -> bool:
    """The primary has `max_in_flight` blocks proposed and not yet executed."""
    return r.max_in_flight is not None and in_flight(r) >= r.max_in_flight


def partial_may_go(r: Replica) -> bool:
    """A block of fewer than `max_block_batches` may be proposed: with no bound, always (the
    watermark alone limits); with one, only when none of the primary's blocks is in flight.
    (Partial blocks pipelined four deep made more, smaller blocks, higher latency at every
    rate and a lower knee in `bench consensus`: docs/performance.md, "One partial block in
    flight".)"""
    return r.max_in_flight is None or in_flight(r) <= 0


def maybe_propose(r: Replica) -> None:
    p, q = r.params, r.requests
    while q.queue and r.agreement.next_seq <= r.stable.seq + p.watermark_window and not pipeline_full(r):
        full = len(q.queue) >= p.max_block_batches
        waited = q.queue_since_ms is not None and r.now_ms - q.queue_since_ms >= p.batch_delay_ms
        if not (full or (waited and partial_may_go(r))):
            return
        take: list[bytes] = []
        for data in list(q.queue):
            del q.queue[data]
            key = request_key(data)
            if key is None or key in q.proposed or data not in q.pending:
                continue
            take.append(data)
            q.proposed.add(key)
            if len(take) >= p.max_block_batches:
                break
        q.queue_since_ms = r.now_ms if q.queue else None
        if take:
            propose(r, Proposal(r.chain_id, r.agreement.next_seq, r.now_ms, r.id, tuple(take)))


def propose(r: Replica, proposal: Proposal) -> None:
    body = PrePrepare(r.view, proposal)
    data = r.sign_vote(Kind.PRE_PREPARE, r.view, proposal.seq, proposal.digest, body,
                       records.pre_prepare_record(r.view, proposal))
    if data is None:
        return
    r.agreement.next_seq = max(r.agreement.next_seq, proposal.seq + 1)
    slot = r.agreement.log.get(r.view, proposal.seq)
    slot.proposal = proposal
    slot.pre_prepare_sig = _sig_of(data)
    slot.sent[Kind.PRE_PREPARE] = data
    slot.moved_ms = r.now_ms
    r.emit(Send(None, data))


def restore_pre_prepares(r: Replica, pre_prepares: dict[tuple[int, int], Proposal]) -> None:
    """A restarted primary rebuilds the slots of what it proposed in its view and resends them."""
    for (view, seq), proposal in sorted(pre_prepares.items()):
        if view == r.view and seq > max(r.last_executed, r.stable.seq):
            body = PrePrepare(view, proposal)
            sig = r.signer.sign(body.vote_bytes(r.chain_id))
            slot = r.agreement.log.get(view, seq)
            slot.proposal = proposal
            slot.pre_prepare_sig = sig
            slot.sent[Kind.PRE_PREPARE] = seal_with(sig, r.id, body)
            for data in proposal.requests:
                key = request_key(data)
                if key is not None:
                    r.requests.proposed.add(key)


def _sig_of(envelope: bytes) -> bytes:
    return envelope[-64:]   # the signature is the envelope's last field, a 64-byte bin


# ---- votes -------------------------------------------------------------------------------

def refuse_pre_prepare(r: Replica, sender: str, body: PrePrepare, sig: bytes, raw: bytes) -> None:
    raise Rejected("not_primary", f"{sender} is not primary of view {body.view}")


def on_pre_prepare(r: Replica, sender: str, body: PrePrepare, sig: bytes, raw: bytes) -> None:
    proposal = body.proposal
    if sender != r.primary:
        raise Rejected("not_primary", f"{sender} is not primary of view {body.view}")
    if proposal.chain_id != r.chain_id:
        raise Rejected("wrong_chain")
    if proposal.proposer != sender and proposal.digest not in r.agreement.reproposals:
        raise Rejected("wrong_proposer")
    if len(proposal.requests) > r.params.max_block_batches:
        raise Rejected("oversized_proposal")
    slot = r.agreement.log.get(r.view, proposal.seq)
    if slot.proposal is not None:
        raise Rejected("duplicate" if slot.proposal.digest == proposal.digest
                       else "conflicting_pre_prepare")
    accept_pre_prepare(r, slot, proposal, sig)


def accept_pre_prepare(r: Replica, slot: Slot, proposal: Proposal, sig: bytes) -> None:
    """A backup takes the primary's proposal for a slot and sends its PREPARE."""
    slot.proposal = proposal
    slot.pre_prepare_sig = sig
    if not r.is_primary:
        vote = Prepare(slot.view, slot.seq, proposal.digest)
        data = r.sign_vote(Kind.PREPARE, slot.view, slot.seq, proposal.digest, vote)
        if data is None:
            slot.proposal = None
            return
        slot.prepares[r.id] = (proposal.digest, _sig_of(data))
        slot.sent[Kind.PREPARE] = data
        r.emit(Send(None, data))
    progress(r, slot)


def on_prepare(r: Replica, sender: str, body: Prepare, sig: bytes, raw: bytes) -> None:
    if sender == r.primary:
        raise Rejected("prepare_from_primary")
    slot = r.agreement.log.get(r.view, body.seq)
    _add_vote(slot.prepares, sender, body.digest, sig)
    progress(r, slot)


def on_commit(r: Replica, sender: str, body: Commit, sig: bytes, raw: bytes) -> None:
    slot = r.agreement.log.get(r.view, body.seq)
    _add_vote(slot.commits, sender, body.digest, sig)
    progress(r, slot)


def _add_vote(votes: dict[str, tuple[bytes, bytes]], sender: str, digest: bytes, sig: bytes) -> None:
    old = votes.get(sender)
    if old is not None:
        raise Rejected("duplicate" if old[0] == digest else "conflicting_vote")
    votes[sender] = (digest, sig)


def progress(r: Replica, slot: Slot) -> None:
    slot.moved_ms = r.now_ms
    cert = slot.check_prepared(r.primary, r.f)
    if cert is not None:
        old = r.agreement.prepared.get(slot.seq)
        if old is None or old.view <= cert.view:
            r.agreement.prepared[slot.seq] = cert
            r.persist(records.prepared_record(cert))
        vote = Commit(slot.view, slot.seq, cert.proposal.digest)
        data = r.sign_vote(Kind.COMMIT, slot.view, slot.seq, cert.proposal.digest, vote)
        if data is not None:
            slot.commits[r.id] = (cert.proposal.digest, _sig_of(data))
            slot.sent[Kind.COMMIT] = data
            r.emit(Send(None, data))
    certificate = slot.check_committed(r.f)
    if certificate is not None and slot.proposal is not None and slot.seq > r.last_executed:
        r.agreement.certified[slot.seq] = (slot.proposal, certificate)
        execute_ready(r)


# ---- execution -----------------------------------------------------------------------------

def execute_ready(r: Replica) -> None:
    executed = False
    while True:
        item = r.agreement.certified.pop(r.last_executed + 1, None)
        if item is None:
            break
        apply_block(r, *item)
        executed = True
    if executed and r.is_primary and not r.view_changing and r.max_in_flight is not None:
        maybe_propose(r)     # a place in the pipeline freed: what waited goes now, not at the next tick


def apply_block(r: Replica, proposal: Proposal, certificate: CommitCertificate) -> None:
    """Hand one certified block to the driver and advance: hash chain, dedupe state, timers."""
    r.emit(Execute(proposal, certificate))
    r.last_block_hash = BlockHeader.for_proposal(proposal, r.last_block_hash).hash
    r.last_executed = proposal.seq
    r.transfer.last_progress_ms = r.now_ms
    for s in [s for s in r.agreement.certified if s <= proposal.seq]:
        del r.agreement.certified[s]
    for data in proposal.requests:
        r.requests.executed[codec.sha256(data)] = proposal.seq
        key = request_key(data)
        if key is None:
            continue
        r.requests.proposed.discard(key)
        # The key is decided (accepted, or rejected by the contract): whatever is pending under
        # it is either a replay or will be resubmitted by its gateway.
        pending = r.requests.pending_keys.pop(key, None)
        if pending is not None:
            r.requests.pending.pop(pending, None)
            r.requests.queue.pop(pending, None)
    r.requests.deadline_ms = (r.now_ms + r.params.request_timeout_ms
                             if r.requests.pending and not r.is_primary and not r.view_changing else None)
    r.requests.broadcast = False
    if proposal.seq == r.stable.seq and r.last_block_hash != r.stable.block_hash:
        r.dropped["checkpoint_hash_mismatch"] += 1
    if proposal.seq % r.params.checkpoint_interval == 0:
        checkpoints.take(r, proposal.seq, r.last_block_hash)
