"""View changes (paper section 4.4): VIEW-CHANGE, NEW-VIEW, and the set O.

Theory of operation. A backup whose request timer expires moves to view v + 1: it
stops taking part in the normal case, persists the new view, and broadcasts a
VIEW-CHANGE carrying its stable checkpoint proof and a prepared certificate for each
sequence number above it. A replica that sees f + 1 VIEW-CHANGEs for views above its
own joins the smallest of them, so one faulty replica cannot start view changes but
f + 1 suspicious ones always can. If the new view is not installed before a timer
expires, the replica moves on to v + 2 with twice the timeout (exponential backoff).

The primary of v, once it holds 2f + 1 valid VIEW-CHANGEs, computes O: min-s is the
highest stable checkpoint among them; for every n above it up to the highest prepared
sequence number max-s, it re-proposes the proposal of the prepared certificate with
the highest view, or a null proposal (no requests) where none prepared. A backup
accepts the NEW-VIEW only after re-checking every VIEW-CHANGE in it and recomputing O
itself; so a faulty new primary can neither drop a request that may have committed
nor slip in one of its own. Re-proposals keep their original proposal (and digest),
so the block hash of a committed sequence number never changes across views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.node import codec
from carbonlab.node.block import Proposal
from carbonlab.node.pbft import certificates, checkpoints, normal, records, requests, transfer
from carbonlab.node.pbft.actions import ViewChanged
from carbonlab.node.pbft.envelope import Rejected, open_envelope, seal_with
from carbonlab.node.pbft.messages import (
    CheckpointProof,
    Kind,
    NewView,
    PreparedCertificate,
    PrePrepare,
    ViewChange,
)
from carbonlab.node.pbft.requests import request_key

if TYPE_CHECKING:
    from carbonlab.node.pbft.replica import Replica

MAX_BACKOFF_DOUBLINGS = 8


def start(r: Replica, new_view: int) -> None:
    """Leave the current view for `new_view` and broadcast our VIEW-CHANGE."""
    if new_view <= r.view and r.view_changing:
        return
    r.view = new_view
    r.view_changing = True
    r.set_role()
    r.persist(records.view_record(new_view))
    r.agreement.reset()
    r.requests.reset()
    r.view_change.reset()
    _send_my_view_change(r)
    maybe_new_view(r)


def _arm_timer(r: Replica) -> None:
    """Paper: the timer starts once 2f + 1 VIEW-CHANGEs for the view are in, so a replica that
    suspects alone waits for the others instead of running ahead through views."""
    if r.view_change.deadline_ms is not None or len(r.view_change.votes.get(r.view, {})) < r.genesis.quorum:
        return
    timeout = r.params.view_change_timeout_ms << min(r.view_change.attempts, MAX_BACKOFF_DOUBLINGS)
    r.view_change.attempts += 1
    r.view_change.deadline_ms = r.now_ms + timeout


def rebuild_my_view_change(r: Replica) -> None:
    """After a restart inside a view change: rebuild and resend our VIEW-CHANGE."""
    r.view_change.deadline_ms = None
    r.view_change.attempts = 0
    _send_my_view_change(r)


def _send_my_view_change(r: Replica) -> None:
    certs = tuple(c for _, c in sorted(r.agreement.prepared.items()) if c.seq > r.stable.seq)
    body = ViewChange(r.view, r.stable, certs)
    data = r.broadcast(body)
    r.view_change.mine = data
    _store(r, r.id, body, data)


def _store(r: Replica, sender: str, body: ViewChange, data: bytes) -> None:
    for view, votes in list(r.view_change.votes.items()):     # keep only each sender's latest VIEW-CHANGE
        if view < body.new_view:
            votes.pop(sender, None)
            if not votes:
                del r.view_change.votes[view]
    r.view_change.votes.setdefault(body.new_view, {})[sender] = (body, data)


def check_view_change(r: Replica, body: ViewChange) -> None:
    reason = certificates.check_checkpoint_proof(r.genesis, r.cache, body.stable)
    if reason is not None:
        raise Rejected(f"view_change_{reason}")
    seen: set[int] = set()
    for cert in body.prepared:
        if cert.view >= body.new_view:
            raise Rejected("view_change_cert_from_future")
        if cert.seq in seen:
            raise Rejected("view_change_duplicate_seq")
        if not body.stable.seq < cert.seq <= body.stable.seq + r.params.watermark_window:
            raise Rejected("view_change_cert_out_of_window")
        seen.add(cert.seq)
        reason = certificates.check_prepared(r.genesis, r.cache, cert)
        if reason is not None:
            raise Rejected(f"view_change_{reason}")


def on_view_change(r: Replica, sender: str, body: ViewChange, sig: bytes, raw: bytes) -> None:
    if body.new_view < r.view or (body.new_view == r.view and not r.view_changing):
        transfer.help_behind(r, sender)
        raise Rejected("old_view")
    check_view_change(r, body)
    _store(r, sender, body, raw)
    # Join when f + 1 members want a view above ours: at least one of them is honest.
    above = {m: v for v, votes in r.view_change.votes.items() if v > r.view for m in votes if m != r.id}
    if len(above) >= r.f + 1:
        start(r, min(above.values()))
        return
    maybe_new_view(r)


def compute_o(r: Replica, view: int, vcs: list[ViewChange]) -> tuple[CheckpointProof, list[Proposal]]:
    """min-s, and the proposals for min-s + 1 .. max-s (re-proposals or null proposals)."""
    stable = max((vc.stable for vc in vcs), key=lambda p: p.seq)
    best: dict[int, PreparedCertificate] = {}
    for vc in vcs:
        for cert in vc.prepared:
            if cert.seq <= stable.seq:
                continue
            old = best.get(cert.seq)
            if old is None or (cert.view, old.proposal.digest) > (old.view, cert.proposal.digest):
                best[cert.seq] = cert
    max_s = max(best, default=stable.seq)
    null_time = max((c.proposal.timestamp_ms for c in best.values()), default=0)
    primary = r.genesis.primary_of(view)
    out = [best[n].proposal if n in best else Proposal(r.chain_id, n, null_time, primary, ())
           for n in range(stable.seq + 1, max_s + 1)]
    return stable, out


def maybe_new_view(r: Replica) -> None:
    """As primary of the view being changed to, send NEW-VIEW once 2f + 1 VIEW-CHANGEs are in."""
    if not r.view_changing:
        return
    _arm_timer(r)
    if r.genesis.primary_of(r.view) != r.id:
        return
    votes = r.view_change.votes.get(r.view, {})
    if len(votes) < r.genesis.quorum:
        return
    chosen = [r.id] if r.id in votes else []
    chosen += [m for m in sorted(votes) if m != r.id][: r.genesis.quorum - len(chosen)]
    stable, proposals = compute_o(r, r.view, [votes[m][0] for m in chosen])
    pre_prepares = []
    for p in proposals:
        body = PrePrepare(r.view, p)
        data = r.sign_vote(Kind.PRE_PREPARE, r.view, p.seq, p.digest, body,
                           records.pre_prepare_record(r.view, p))
        if data is None:
            return
        pre_prepares.append((p, data[-64:]))
    nv = NewView(r.view, tuple(votes[m][1] for m in chosen), tuple(pre_prepares))
    data = r.broadcast(nv)
    r.persist(records.new_view_record(data))
    install(r, nv, data, stable)


def on_new_view(r: Replica, sender: str, body: NewView, sig: bytes, raw: bytes) -> None:
    if body.view < r.view or (body.view == r.view and not r.view_changing):
        raise Rejected("old_view")
    if sender != r.genesis.primary_of(body.view):
        raise Rejected("not_primary")
    vcs: list[ViewChange] = []
    senders: set[str] = set()
    for env in body.view_changes:
        try:
            member, vc, _ = open_envelope(env, r.chain_id, r.cache)
        except Rejected as exc:
            raise Rejected(f"new_view_{exc.reason}") from None
        if not isinstance(vc, ViewChange) or vc.new_view != body.view:
            raise Rejected("new_view_bad_view_change")
        if member in senders:
            raise Rejected("new_view_duplicate_sender")
        check_view_change(r, vc)
        senders.add(member)
        vcs.append(vc)
    if len(vcs) < r.genesis.quorum:
        raise Rejected("new_view_short")
    stable, proposals = compute_o(r, body.view, vcs)
    if [p.digest for p in proposals] != [p.digest for p, _ in body.pre_prepares]:
        raise Rejected("new_view_o_mismatch")
    for p, pp_sig in body.pre_prepares:
        if not r.cache.check(sender, pp_sig, PrePrepare(body.view, p).vote_bytes(r.chain_id)):
            raise Rejected("new_view_bad_signature")
    if body.view > r.view:
        r.view = body.view
        r.persist(records.view_record(body.view))
    r.persist(records.new_view_record(raw))
    install(r, body, raw, stable)


def install(r: Replica, nv: NewView, envelope: bytes, stable: CheckpointProof) -> None:
    """Enter view nv.view in normal operation with O's pre-prepares in the log."""
    r.view_changing = False
    r.set_role()
    r.view_change.installed(r.view, envelope)
    checkpoints.make_stable(r, stable)
    _load_o(r, nv)
    r.emit(ViewChanged(r.view, r.primary))
    requests.requeue_pending(r)


def _load_o(r: Replica, nv: NewView) -> None:
    r.agreement.log.clear()
    r.agreement.reproposals = {p.digest for p, _ in nv.pre_prepares}
    r.requests.proposed.clear()
    top = r.stable.seq
    for p, pp_sig in nv.pre_prepares:
        top = max(top, p.seq)
        if p.seq <= r.stable.seq:
            continue
        slot = r.agreement.log.get(r.view, p.seq)
        if r.is_primary:
            slot.proposal = p
            slot.pre_prepare_sig = pp_sig
            slot.sent[Kind.PRE_PREPARE] = seal_with(pp_sig, r.id, PrePrepare(r.view, p))
            normal.progress(r, slot)
        else:
            normal.accept_pre_prepare(r, slot, p, pp_sig)
        if p.seq > r.last_executed:
            for data in p.requests:
                key = request_key(data)
                if key is not None:
                    r.requests.proposed.add(key)
    r.agreement.next_seq = max(top, r.last_executed if r.is_primary else 0) + 1


def restore_new_view(r: Replica, envelope: bytes) -> None:
    """After a restart: take back the re-proposal set of our current view's NEW-VIEW."""
    value: Any = codec.decode(envelope, "new_view record", max_bytes=1 << 30)
    nv = NewView.from_wire(value[2])
    r.view_change.new_view_envelope = envelope
    r.agreement.reproposals = {p.digest for p, _ in nv.pre_prepares}
