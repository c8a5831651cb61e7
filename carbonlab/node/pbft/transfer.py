"""State transfer: a lagging or restarted replica fetches certified blocks and checks each one.

Theory of operation. Replicas gossip STATUS (view, last executed) every half request
timeout. A peer in an older view gets our NEW-VIEW (self-certifying: 2f + 1 signed
VIEW-CHANGEs), which moves it to our view. A replica that sees a peer ahead of it,
while it has made no progress for a status period, or that learns of a stable
checkpoint above its height, sends FETCH(from, to) to one such peer (rotating among
them when a fetch times out, since a Byzantine peer may claim a height it will not
serve). The peer's driver reads the blocks from its ledger (`ServeBlocks`) and answers
with `blocks_reply`. Each block is applied only if its commit certificate holds 2f + 1
valid signatures over exactly that proposal's digest: 2f + 1 COMMITs imply that f + 1
honest replicas prepared it, so it is the block every honest replica commits at that
height, whoever served it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.pbft import certificates, normal
from carbonlab.node.pbft.actions import Action, Send, ServeBlocks, StateTransfer
from carbonlab.node.pbft.envelope import Rejected, seal
from carbonlab.node.pbft.messages import Blocks, Fetch, Status
from carbonlab.node.pbft.state import FetchInFlight

if TYPE_CHECKING:
    from carbonlab.node.pbft.replica import Replica

MAX_FETCH_BLOCKS = 64
MAX_REPLY_BYTES = 8 * 1024 * 1024


def send_status(r: Replica) -> None:
    r.broadcast(Status(r.view, r.last_executed))


def help_behind(r: Replica, peer: str) -> None:
    """A peer still in an older view: send it our NEW-VIEW (at most once per status period)."""
    if r.view_changing or r.view_change.new_view_envelope is None:
        return
    if r.now_ms - r.view_change.helped.get(peer, -(1 << 62)) >= r.status_ms:
        r.view_change.helped[peer] = r.now_ms
        r.emit(Send(peer, r.view_change.new_view_envelope))


def on_status(r: Replica, sender: str, body: Status, sig: bytes, raw: bytes) -> None:
    if body.view < r.view:
        help_behind(r, sender)
    r.transfer.peer_heights[sender] = body.last_executed
    r.transfer.peer_status[sender] = (body.view, body.last_executed, r.now_ms)
    if body.last_executed > r.last_executed and r.now_ms - r.transfer.last_progress_ms >= r.status_ms:
        maybe_fetch(r)


def maybe_fetch(r: Replica) -> None:
    """Ask one peer that is ahead of us for the next blocks, unless a fetch is already out."""
    if r.transfer.fetch is not None and r.now_ms < r.transfer.fetch.deadline_ms:
        return
    ahead = sorted(m for m, h in r.transfer.peer_heights.items() if h > r.last_executed and m != r.id)
    if not ahead:
        r.transfer.fetch = None
        return
    peer = ahead[r.transfer.rotation % len(ahead)]
    r.transfer.rotation += 1
    lo = r.last_executed + 1
    hi = min(r.transfer.peer_heights[peer], lo + MAX_FETCH_BLOCKS - 1)
    r.transfer.fetch = FetchInFlight(peer, lo, hi, r.now_ms + r.params.request_timeout_ms)
    r.send_to(peer, Fetch(lo, hi))
    r.emit(StateTransfer(peer, lo, hi))


def on_fetch(r: Replica, sender: str, body: Fetch, sig: bytes, raw: bytes) -> None:
    if body.to_seq < body.from_seq:
        raise Rejected("fetch_bad_range")
    if body.from_seq > r.last_executed:
        raise Rejected("fetch_beyond_height")
    hi = min(body.to_seq, r.last_executed, body.from_seq + MAX_FETCH_BLOCKS - 1)
    r.emit(ServeBlocks(sender, body.from_seq, hi))


def blocks_reply(r: Replica, to: str, blocks: list[tuple[Proposal, CommitCertificate]]) -> Action:
    size = 0
    kept: list[tuple[Proposal, CommitCertificate]] = []
    for proposal, cert in sorted(blocks, key=lambda b: b[0].seq)[:MAX_FETCH_BLOCKS]:
        size += sum(len(q) for q in proposal.requests) + 128 * len(cert.signatures) + 256
        if kept and size > MAX_REPLY_BYTES:
            break
        kept.append((proposal, cert))
    return Send(to, seal(r.signer, r.chain_id, r.id, Blocks(tuple(kept))))


def on_blocks(r: Replica, sender: str, body: Blocks, sig: bytes, raw: bytes) -> None:
    applied = 0
    for proposal, cert in sorted(body.blocks, key=lambda b: b[0].seq):
        if proposal.seq <= r.last_executed:
            continue
        if proposal.seq != r.last_executed + 1:
            break
        reason = certificates.check_commit(r.genesis, r.cache, proposal, cert)
        if reason is not None:
            raise Rejected(f"blocks_{reason}")
        normal.apply_block(r, proposal, cert)
        applied += 1
    fetch: FetchInFlight | None = r.transfer.fetch
    if fetch is not None and (r.last_executed >= fetch.to_seq or sender == fetch.peer):
        r.transfer.fetch = None
    normal.execute_ready(r)
    if applied == 0:
        raise Rejected("blocks_nothing_new")
    if any(h > r.last_executed for h in r.transfer.peer_heights.values()):
        maybe_fetch(r)
