"""The PBFT replica: one object per member, events in, actions out.

Theory of operation. `receive`, `submit` and `tick` are the only inputs; each returns
the actions the driver must carry out (see `actions.py`). `receive` does the checks
every message shares (size, canonical decoding, membership, signature, then view and
watermarks for the normal-case kinds and checkpoints) and hands the message to the
handler table of the replica's current role: primary, backup, or view-changing.
Installing a view or starting a view change swaps the table (raft's `r.step`).
A message that fails a check is counted in `dropped` by reason and never raises.

Normal case, checkpoints, view change and state transfer live in their own modules
as functions of the replica, and each keeps what it remembers in its own state object
(`state.py`: `requests`, `agreement`, `checkpoints`, `view_change`, `transfer`), with
its own `reset()` and garbage collection. This module holds the view and the height,
the shared checks, the timers and the small helpers that sign, persist and send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.crypto import Signer
from carbonlab.node.errors import NodeError
from carbonlab.node.genesis import Genesis
from carbonlab.node.pbft import checkpoints, normal, records, requests, transfer, viewchange
from carbonlab.node.pbft.actions import Action, Persist, Send
from carbonlab.node.pbft.envelope import Rejected, SignatureCache, open_envelope, seal, seal_with
from carbonlab.node.pbft.messages import (
    Body,
    Checkpoint,
    CheckpointProof,
    Kind,
    Prepare,
    PrePrepare,
)
from carbonlab.node.pbft.records import RecoveredState
from carbonlab.node.pbft.state import (
    AgreementState,
    CheckpointState,
    FetchInFlight,
    RequestState,
    TransferState,
    ViewChangeState,
)

Handler = Callable[["Replica", str, Any, bytes, bytes], None]


class Replica:
    """One member's PBFT state machine (Castro & Liskov, OSDI 1999)."""

    def __init__(self, genesis: Genesis, member_id: str, signer: Signer, *,
                 recovered: RecoveredState | None = None, now_ms: int = 0,
                 max_in_flight: int | None = None) -> None:
        if member_id not in genesis.member_keys:
            raise NodeError(f"member {member_id!r} is not in genesis (members: "
                            f"{', '.join(genesis.member_ids)})")
        if genesis.member_keys[member_id] != signer.public_key:
            raise NodeError(f"the key given for {member_id!r} is not the one genesis names")
        self.genesis = genesis
        self.id = member_id
        self.signer = signer
        self.chain_id = genesis.chain_id
        self.f = genesis.f
        self.params = genesis.params
        # as primary: blocks proposed and not yet executed at most (None: up to the high watermark).
        # A local choice of how to batch, not a protocol rule: backups neither know nor care.
        self.max_in_flight = max_in_flight
        self.cache = SignatureCache(genesis.member_keys)
        self.dropped: Counter[str] = Counter()
        self.now_ms = now_ms
        self._out: list[Action] = []

        self.view = 0
        self.view_changing = False
        self.handlers: dict[Kind, Handler] = {}
        self.last_executed = 0
        self.last_block_hash = genesis.hash
        self.requests = RequestState()
        self.agreement = AgreementState()
        self.checkpoints = CheckpointState(CheckpointProof(0, genesis.hash, ()))
        self.view_change = ViewChangeState()
        self.transfer = TransferState(last_progress_ms=now_ms)

        self.resend_ms = max(10, self.params.request_timeout_ms // 4)
        self.status_ms = max(10, self.params.request_timeout_ms // 2)
        self.next_resend_ms = now_ms + self.resend_ms
        self.next_status_ms = now_ms
        self.links_seen: set[str] = set()           # members the transport has reached at least once
        self.unreachable_since: dict[str, int] = {}  # ... and that it cannot reach now, since when

        if recovered is not None:
            self._recover(recovered)
        else:
            self._set_role()

    # ---- public API -------------------------------------------------------------------

    @property
    def primary(self) -> str:
        return self.genesis.primary_of(self.view)

    @property
    def stable(self) -> CheckpointProof:
        """The proof of the last stable checkpoint (the low watermark)."""
        return self.checkpoints.stable

    @property
    def peer_heights(self) -> dict[str, int]:
        """How far each peer last said it had executed (gossip, never trusted for safety)."""
        return self.transfer.peer_heights

    @property
    def is_primary(self) -> bool:
        return self.primary == self.id

    def submit(self, request: bytes, now_ms: int) -> list[Action]:
        """A client request (canonical batch bytes) handed to this replica."""
        self._begin(now_ms)
        try:
            requests.accept_request(self, request, forward=True)
        except Rejected as exc:
            self.dropped[exc.reason] += 1
        return self._finish()

    def receive(self, data: bytes, now_ms: int) -> list[Action]:
        """A raw signed envelope from a peer. Never raises: bad input is counted in `dropped`."""
        self._begin(now_ms)
        try:
            sender, body, sig = open_envelope(data, self.chain_id, self.cache)
            if sender == self.id:
                raise Rejected("from_self")
            self._shared_checks(body)
            handler = self.handlers.get(body.KIND)
            if handler is None:
                raise Rejected("not_in_this_phase", body.KIND.name)
            handler(self, sender, body, sig, data)
        except Rejected as exc:
            self.dropped[exc.reason] += 1
        return self._finish()

    def links(self, reachable: set[str], now_ms: int) -> None:
        """The transport's word on which members it can reach now (advisory, never trusted for
        safety). A backup with requests waiting whose primary was reachable and has been
        unreachable for a quarter of the request timeout suspects it at once in `tick`, instead
        of waiting for the request timer twice: a crashed primary's connections close at once,
        so its backups leave the view within a fraction of a second, all of them together."""
        self.links_seen |= reachable
        for member in self.links_seen:
            if member in reachable:
                self.unreachable_since.pop(member, None)
            else:
                self.unreachable_since.setdefault(member, now_ms)

    def primary_lost(self) -> bool:
        since = self.unreachable_since.get(self.primary)
        return since is not None and self.now_ms - since >= self.params.request_timeout_ms // 4

    def tick(self, now_ms: int) -> list[Action]:
        """Time passes: timers fire, the primary cuts blocks, lost messages are resent."""
        self._begin(now_ms)
        if self.view_changing:
            if self.view_change.deadline_ms is not None and now_ms >= self.view_change.deadline_ms:
                viewchange.start(self, self.view + 1)
        elif not self.is_primary and self.requests.pending and self.primary_lost():
            viewchange.start(self, self.view + 1)
        elif (not self.is_primary and self.requests.deadline_ms is not None
              and now_ms >= self.requests.deadline_ms):
            requests.request_timer_expired(self)
        if not self.view_changing and self.is_primary:
            normal.maybe_propose(self)
        if now_ms >= self.next_resend_ms:
            self.next_resend_ms = now_ms + self.resend_ms
            self._resend()
        if now_ms >= self.next_status_ms:
            self.next_status_ms = now_ms + self.status_ms
            transfer.send_status(self)
        if self.transfer.fetch is not None and now_ms >= self.transfer.fetch.deadline_ms:
            self.transfer.fetch = None
            transfer.maybe_fetch(self)
        return self._finish()

    def next_tick_ms(self) -> int:
        """The earliest time `tick` has something to do: a timer, the primary's batch delay,
        a resend or status round, a fetch's deadline, or the primary-lost check. Between
        that and now, ticking changes nothing, so the driver may sleep (messages wake it)."""
        p, q = self.params, self.requests
        due = [self.next_resend_ms, self.next_status_ms]
        if self.view_changing:
            if self.view_change.deadline_ms is not None:
                due.append(self.view_change.deadline_ms)
        elif self.is_primary:
            if (q.queue and q.queue_since_ms is not None and not normal.pipeline_full(self)
                    and normal.partial_may_go(self)):
                due.append(q.queue_since_ms + p.batch_delay_ms)
        else:
            if q.deadline_ms is not None:
                due.append(q.deadline_ms)
            since = self.unreachable_since.get(self.primary)
            if q.pending and since is not None:
                due.append(since + p.request_timeout_ms // 4)
        if self.transfer.fetch is not None:
            due.append(self.transfer.fetch.deadline_ms)
        return min(due)

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for the node's /v1/status and metrics."""
        ahead = max(self.transfer.peer_heights.values(), default=self.last_executed)
        return {"member_id": self.id, "view": self.view, "primary": self.primary,
                "view_changing": self.view_changing, "height": self.last_executed,
                "head_hash": self.last_block_hash.hex(), "stable_checkpoint": self.stable.seq,
                "pending_requests": len(self.requests.pending), "lag": max(0, ahead - self.last_executed),
                "dropped": dict(self.dropped)}

    def blocks_reply(self, to: str, blocks: list[tuple[Proposal, CommitCertificate]]) -> Action:
        """The answer to a `ServeBlocks` action: a signed BLOCKS message for `to`."""
        return transfer.blocks_reply(self, to, blocks)

    # ---- helpers for the protocol modules ----------------------------------------------

    def emit(self, action: Action) -> None:
        self._out.append(action)

    def persist(self, record: bytes) -> None:
        self._out.append(Persist(record))

    def broadcast(self, body: Body) -> bytes:
        data = seal(self.signer, self.chain_id, self.id, body)
        self._out.append(Send(None, data))
        return data

    def send_to(self, to: str, body: Body) -> bytes:
        data = seal(self.signer, self.chain_id, self.id, body)
        self._out.append(Send(to, data))
        return data

    def sign_vote(self, kind: Kind, view: int, seq: int, digest: bytes, body: Body,
                  record: bytes | None = None) -> bytes | None:
        """Sign a PRE-PREPARE/PREPARE/COMMIT vote after persisting it; refuse a second digest."""
        key = (kind, view, seq)
        previous = self.agreement.signed.get(key)
        if previous is not None and previous != digest:
            self.dropped["would_equivocate"] += 1
            return None
        if previous is None:
            self.agreement.signed[key] = digest
            self.persist(record if record is not None else records.vote_record(kind, view, seq, digest))
        sig = self.signer.sign(body.vote_bytes(self.chain_id))  # type: ignore[union-attr]
        return seal_with(sig, self.id, body)

    def set_role(self) -> None:
        self._set_role()

    # ---- internals ---------------------------------------------------------------------

    def _begin(self, now_ms: int) -> None:
        # `_out` may already hold what a restart produced in __init__; it goes out with this call.
        self.now_ms = max(self.now_ms, now_ms)

    def _finish(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _set_role(self) -> None:
        if self.view_changing:
            self.handlers = VIEW_CHANGING
        elif self.is_primary:
            self.handlers = PRIMARY
        else:
            self.handlers = BACKUP

    def _shared_checks(self, body: Body) -> None:
        if isinstance(body, PrePrepare | Prepare):    # Commit is a Prepare
            if body.view < self.view:
                raise Rejected("old_view")
            if body.view > self.view:
                raise Rejected("future_view")
            if body.seq <= self.stable.seq:
                raise Rejected("below_watermark")
            if body.seq > self.stable.seq + self.params.watermark_window:
                raise Rejected("above_watermark")
        elif isinstance(body, Checkpoint):
            if body.seq <= self.stable.seq:
                raise Rejected("stale_checkpoint")
            if body.seq % self.params.checkpoint_interval:
                raise Rejected("checkpoint_not_multiple_of_k")
            if body.seq > self.stable.seq + 4 * self.params.watermark_window:
                raise Rejected("checkpoint_too_far")

    def _resend(self) -> None:
        """Retransmit what we said that may have been lost (PBFT assumes retransmission).

        Only slots that have not moved for a resend period: under load every slot in
        flight is still gathering votes, and resending those would multiply the traffic
        exactly when the links are busiest (and so the latency, and so the resends)."""
        if self.view_changing:
            if self.view_change.mine is not None:
                self._out.append(Send(None, self.view_change.mine))
        else:
            for slot in self.agreement.log.slots.values():
                if not slot.committed and self.now_ms - slot.moved_ms >= self.resend_ms:
                    slot.moved_ms = self.now_ms
                    for data in slot.sent.values():
                        self._out.append(Send(None, data))
            requests.reforward_pending(self)
        for seq, data in self.checkpoints.mine.items():
            if seq > self.stable.seq:
                self._out.append(Send(None, data))

    def _recover(self, rec: RecoveredState) -> None:
        mem = records.load(rec.records)
        self.last_executed = rec.last_executed
        self.last_block_hash = rec.last_block_hash
        self.requests.batch_floor = dict(rec.last_batch_seq)
        self.agreement.signed = dict(mem.signed)
        if mem.stable is not None and mem.stable.seq > 0:
            self.checkpoints.stable = mem.stable
            if self.stable.seq > self.last_executed:   # its signers hold the blocks we miss
                for member, _ in self.stable.signatures:
                    if member != self.id:
                        self.transfer.peer_heights[member] = self.stable.seq
        self.agreement.prepared = {s: c for s, c in mem.prepared.items() if s > self.stable.seq}
        self.view = mem.view
        self.agreement.next_seq = max([self.stable.seq, self.last_executed]
                            + [s for (v, s) in mem.pre_prepares if v == self.view]) + 1
        if self.view == 0 or self.view in mem.new_views:
            if self.view in mem.new_views:
                viewchange.restore_new_view(self, mem.new_views[self.view])
            self.view_changing = False
            self._set_role()
            if self.is_primary:
                normal.restore_pre_prepares(self, mem.pre_prepares)
        else:
            self.view_changing = True
            self._set_role()
            viewchange.rebuild_my_view_change(self)


_SHARED: dict[Kind, Handler] = {
    Kind.PREPARE: normal.on_prepare,
    Kind.COMMIT: normal.on_commit,
    Kind.CHECKPOINT: checkpoints.on_checkpoint,
    Kind.VIEW_CHANGE: viewchange.on_view_change,
    Kind.NEW_VIEW: viewchange.on_new_view,
    Kind.STATUS: transfer.on_status,
    Kind.FETCH: transfer.on_fetch,
    Kind.BLOCKS: transfer.on_blocks,
}
PRIMARY: dict[Kind, Handler] = {
    **_SHARED,
    Kind.REQUEST: requests.on_request_as_primary,
    Kind.PRE_PREPARE: normal.refuse_pre_prepare,
}
BACKUP: dict[Kind, Handler] = {
    **_SHARED,
    Kind.REQUEST: requests.on_request_as_backup,
    Kind.PRE_PREPARE: normal.on_pre_prepare,
}
# While changing views only checkpoints, view changes, new views, gossip and state transfer count;
# requests are kept (pending) for the next primary.
VIEW_CHANGING: dict[Kind, Handler] = {
    k: h for k, h in _SHARED.items() if k not in (Kind.PREPARE, Kind.COMMIT)
}
VIEW_CHANGING[Kind.REQUEST] = requests.on_request_as_backup

__all__ = ["FetchInFlight", "Replica"]
