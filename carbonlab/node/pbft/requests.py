"""Client requests: canonical batch bytes identified by (gateway_id, batch_seq), and
allowance records (node/allowances) identified by their signer and seq.

The replica does not judge a batch (the contract does, at execution); it only needs
its identity to refuse duplicates: the same bytes, or the same (gateway_id, batch_seq),
are never proposed twice while pending, nor again once executed. The primary queues
requests; backups forward them to the primary and time them. A request not executed
within `request_timeout_ms` makes a backup hand it to every replica (as the paper's
client does on its timeout), so all backups time it; a second expiry makes it suspect
the primary. The timer restarts whenever something executes while requests still wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.node import codec
from carbonlab.node.allowances.records import SignedRecord, is_record
from carbonlab.node.errors import SchemaError
from carbonlab.node.model import MAX_BATCH_BYTES, MAX_ID_LEN
from carbonlab.node.pbft import normal
from carbonlab.node.pbft.envelope import Rejected
from carbonlab.node.pbft.messages import Request
from carbonlab.node.pbft.state import RequestKey

if TYPE_CHECKING:
    from carbonlab.node.pbft.replica import Replica

MAX_REFORWARD = 32
MAX_PENDING = 100_000      # bounds what a flood of (possibly Byzantine) requests can hold in memory


RECORD_KEY_PREFIX = "\x00record:"   # no genesis id starts with NUL: a record's key is never a batch's


def request_key(data: bytes) -> RequestKey | None:
    """(gateway_id, batch_seq) of canonical batch bytes, ("\\x00record:" + signer, seq) of an
    allowance record (node/allowances), or None when they are neither."""
    if is_record(data):
        try:
            record = SignedRecord.decode(data)
        except SchemaError:
            return None
        return (RECORD_KEY_PREFIX + record.signer, record.seq)
    if len(data) > MAX_BATCH_BYTES:
        return None
    try:
        value: Any = codec.decode(data, "batch", max_bytes=MAX_BATCH_BYTES)
    except SchemaError:
        return None
    if not isinstance(value, list) or len(value) != 5:
        return None
    gateway, seq = value[1], value[2]
    if not isinstance(gateway, str) or not gateway or len(gateway) > MAX_ID_LEN:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        return None
    return (gateway, seq)


# ---- requests -------------------------------------------------------------------------

def accept_request(r: Replica, data: bytes, *, forward: bool) -> None:
    """Dedupe a request, remember it as pending, then queue it (primary) or forward it (backup)."""
    key = request_key(data)
    if key is None:
        raise Rejected("bad_request")
    gateway, batch_seq = key
    if r.requests.batch_floor.get(gateway, -1) >= batch_seq or codec.sha256(data) in r.requests.executed:
        raise Rejected("duplicate_request", "already executed")
    if data in r.requests.pending or key in r.requests.pending_keys:
        raise Rejected("duplicate_request", "already pending")
    if len(r.requests.pending) >= MAX_PENDING:
        raise Rejected("too_many_pending")
    r.requests.pending[data] = r.now_ms
    r.requests.pending_keys[key] = data
    if r.view_changing:
        return
    if r.is_primary:
        r.requests.queue[data] = None
        if r.requests.queue_since_ms is None:
            r.requests.queue_since_ms = r.now_ms
        normal.maybe_propose(r)
    else:
        if forward:
            r.send_to(r.primary, Request(data))
        if r.requests.deadline_ms is None:
            r.requests.deadline_ms = r.now_ms + r.params.request_timeout_ms


def on_request_as_primary(r: Replica, sender: str, body: Request, sig: bytes, raw: bytes) -> None:
    accept_request(r, body.data, forward=False)


def on_request_as_backup(r: Replica, sender: str, body: Request, sig: bytes, raw: bytes) -> None:
    # A backup whose request timer expired once handed us this request (or the sender thinks we
    # are primary). Pass it on to the primary we know and time it; the first expiry already
    # happened at the sender, so ours goes straight to suspecting the primary.
    timer_running = r.requests.deadline_ms is not None
    accept_request(r, body.data, forward=True)
    if not timer_running and r.requests.deadline_ms is not None:
        r.requests.broadcast = True


def request_timer_expired(r: Replica) -> None:
    """A request waited `request_timeout_ms`. First time: hand every pending request to every
    replica (as the paper's client does when it times out), so that all backups time it;
    second time: suspect the primary and start a view change."""
    if not r.requests.broadcast:
        r.requests.broadcast = True
        for data in list(r.requests.pending)[:MAX_REFORWARD]:
            r.broadcast(Request(data))
        r.requests.deadline_ms = r.now_ms + r.params.request_timeout_ms
        return
    from carbonlab.node.pbft import viewchange

    viewchange.start(r, r.view + 1)


def reforward_pending(r: Replica) -> None:
    """Backups resend requests waiting longer than the resend period (the forward may be lost)."""
    if r.is_primary or r.view_changing:
        return
    sent = 0
    for data, since in r.requests.pending.items():
        if r.now_ms - since >= r.resend_ms:
            r.send_to(r.primary, Request(data))
            sent += 1
            if sent >= MAX_REFORWARD:
                break


def requeue_pending(r: Replica) -> None:
    """After a view change: the new primary queues what is pending, backups forward it."""
    if r.is_primary:
        for data in r.requests.pending:
            key = request_key(data)
            if key is not None and key not in r.requests.proposed:
                r.requests.queue[data] = None
        r.requests.queue_since_ms = r.now_ms if r.requests.queue else None
        normal.maybe_propose(r)
    else:
        for data in r.requests.pending:
            r.send_to(r.primary, Request(data))
    r.requests.deadline_ms = (r.now_ms + r.params.request_timeout_ms
                             if r.requests.pending and not r.is_primary else None)
    r.requests.broadcast = False
