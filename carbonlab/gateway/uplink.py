"""Getting one batch decided by the chain: submit, fail over, back off, poll until final.

Theory of operation. The contract rejects a batch whose batch_seq is not above the
gateway's last accepted one, so a gateway keeps ONE batch in flight: `deliver(batch)`
returns only when some node has said the batch is committed or rejected, and the
caller takes the next batch from the outbox only then.

`deliver` posts the batch's canonical bytes to the current node, asking it to hold the
answer up to `submit_wait_s` for the decision (`wait_ms`). 200 "committed" and 422
"rejected" are final. 202 "accepted" means the node passed it on to consensus and it was not
decided within the wait: the uplink then polls `GET /v1/batches/{gw}/{seq}` on that node
until it reads committed or rejected; "unknown" (the node lost it, e.g. a view change or a
restart) or `commit_timeout_s` without a decision sends the batch again, to the next node. A
connection error, a timeout or a 5xx fails over to the next node at once; after a full round
of the node list without a decision it sleeps (exponential backoff with full jitter, capped
at `max_backoff_s`).

A 503 or 429 with `Retry-After` (a node at its `max_pending_batches` bound says so) is
honoured per member: that member gets nothing from this gateway before the time it named
(seconds or an HTTP date, capped at `max_retry_after_s` so a node cannot park a gateway
for hours; the cap is logged), while the other members are tried meanwhile. When every member
is waiting out its Retry-After, the round's sleep lasts until the first of them may be
asked again. The batch stays in the outbox throughout: `deliver` returns only on a
decision. An unreadable header is logged and the usual backoff applies. Re-sending is always safe: the API is
idempotent on (gateway_id, batch_seq), and a batch the chain already committed is
reported committed, so a gateway restarted between "committed" and deleting the
batch from its outbox commits nothing twice.

A 400 means the node could not parse the batch: not transient, so it is final too,
reported as rejected with reason "malformed" (the batch goes to the dead letters).

Idempotency holds only for the identical batch. A committed answer carries the SHA-256
`digest` of the committed bytes; when it is not this batch's digest, or the node answers
409 "conflict", a DIFFERENT batch was committed under this (gateway_id, batch_seq) (a
gateway that lost its counter and re-signed, or a second holder of its key). That is
final: resending can never commit this batch, and deleting it would lose readings the
chain does not hold, so it is reported as rejected with reason "conflicting_batch" and
the committed digest in the detail, and the caller moves it to the dead letters (kept,
with the reason). The uplink never loops on it and never reports it committed.

A node's JSON answer is read once, into a `NodeAnswer` (a field of the wrong type reads
as absent); everything after that works on the typed value.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime

import httpx

from carbonlab.fields import spec, timer_s
from carbonlab.node.model import BATCH_MEDIA_TYPE, Batch

log = logging.getLogger(__name__)
CONFLICT = "conflicting_batch"   # the node's reason for a 409
RETRY_AFTER_STATUSES = (429, 503)


def retry_after_s(value: str | None, now_unix: float) -> float | None:
    """Seconds a `Retry-After` header asks to wait: delta-seconds (`"1"`, also `"1.5"`) or an
    HTTP date; None when absent or unreadable. A past date reads as 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:      # an HTTP date is GMT
            return None
        return max(0.0, when.timestamp() - now_unix)
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds


@dataclass(frozen=True, slots=True)
class Decision:
    committed: bool
    height: int | None = None
    reason: str = ""
    detail: str = ""
    node: str = ""
    field: str = ""          # the batch field a rejection names, "" when none


@dataclass(frozen=True, slots=True)
class NodeAnswer:
    """One answer of a node's batch API (`POST /v1/batches`, `GET /v1/batches/{gw}/{seq}`)."""

    http_status: int
    status: str = ""         # unknown, pending, accepted, committed, rejected, conflict
    height: int | None = None
    digest: str | None = None
    reason: str = ""
    field: str = ""
    detail: str = ""
    error: str = ""          # a 400's message

    @classmethod
    def of(cls, resp: httpx.Response) -> NodeAnswer:
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(resp.status_code)

        def text(key: str) -> str:
            value = data.get(key)
            return value if isinstance(value, str) else ""

        height = data.get("height")
        return cls(resp.status_code, text("status"),
                   height if isinstance(height, int) and not isinstance(height, bool) else None,
                   text("digest") or None, text("reason"), text("field"), text("detail"),
                   text("error"))


@dataclass(frozen=True, slots=True)
class UplinkParams:
    """GATEWAY.toml's `[uplink]` table: each default and range declared once."""

    request_timeout_s: float = timer_s(5.0)
    poll_interval_s: float = timer_s(0.2)
    commit_timeout_s: float = timer_s(15.0)
    base_backoff_s: float = timer_s(0.2)
    max_backoff_s: float = timer_s(30.0)
    max_retry_after_s: float = timer_s(60.0)   # the longest Retry-After honoured as asked
    # how long the node holds the POST for the decision (its wait_ms; at most 30 s, 0: answer at
    # once): most batches are then decided in that one exchange, with no status polls after it
    submit_wait_s: float = spec(5.0, lo=0.0, hi=30.0)


class Uplink:
    def __init__(self, nodes: Sequence[str], params: UplinkParams | None = None, *,
                 on_result: Callable[[str, str], None] | None = None,
                 rng: random.Random | None = None) -> None:
        if not nodes:
            raise ValueError("the uplink needs at least one node URL")
        self.nodes = [n.rstrip("/") for n in nodes]
        self.params = params or UplinkParams()
        self.current = 0
        self._on_result = on_result or (lambda node, result: None)
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(timeout=self.params.request_timeout_s)
        self.not_before: dict[str, float] = {}   # member -> loop time before which it is not sent to

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(self, batch: Batch) -> Decision:
        body = batch.encode()
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            for _ in range(len(self.nodes)):
                node = self.nodes[self.current]
                if loop.time() >= self.not_before.get(node, 0.0):
                    decision = await self._try_node(node, batch, body)
                    if decision is not None:
                        return decision
                self.current = (self.current + 1) % len(self.nodes)
            delay = self._rng.uniform(0, min(self.params.max_backoff_s,
                                             self.params.base_backoff_s * 2 ** failures))
            failures = min(failures + 1, 30)
            now = loop.time()
            first_free = min(self.not_before.get(n, 0.0) for n in self.nodes)
            if first_free > now + delay:   # every member is waiting out its Retry-After
                delay = first_free - now
            log.info("batch %d: no node decided it; retrying in %.2f s", batch.batch_seq, delay)
            await asyncio.sleep(delay)

    def _honour_retry_after(self, node: str, batch: Batch, resp: httpx.Response) -> None:
        header = resp.headers.get("retry-after")
        if header is None:
            return
        loop = asyncio.get_running_loop()
        asked = retry_after_s(header, time.time())
        if asked is None:
            log.warning("batch %d: %s answered %d with an unreadable Retry-After %r; ignored",
                        batch.batch_seq, node, resp.status_code, header,
                        extra={"event": "retry_after_unreadable", "node": node, "header": header})
            return
        wait_s = min(asked, self.params.max_retry_after_s)
        self.not_before[node] = loop.time() + wait_s
        capped = f" (capped from {asked:g} s at max_retry_after_s)" if wait_s < asked else ""
        log.info("batch %d: %s answered %d with Retry-After %s: nothing sent to it for %.1f s%s; "
                 "the batch stays in the outbox", batch.batch_seq, node, resp.status_code, header,
                 wait_s, capped, extra={"event": "retry_after", "node": node, "wait_s": wait_s,
                                        "asked_s": asked, "batch_seq": batch.batch_seq})

    async def _try_node(self, node: str, batch: Batch, body: bytes) -> Decision | None:
        wait_s = self.params.submit_wait_s
        try:
            resp = await self._client.post(
                f"{node}/v1/batches", content=body, headers={"content-type": BATCH_MEDIA_TYPE},
                params={"wait_ms": int(wait_s * 1000)} if wait_s else None,
                timeout=self.params.request_timeout_s + wait_s)
        except httpx.HTTPError as exc:
            self._on_result(node, "error")
            log.info("batch %d: %s unreachable (%s)", batch.batch_seq, node, type(exc).__name__)
            return None
        final = self._final(node, NodeAnswer.of(resp), batch)
        if final is not None:
            self._on_result(node, "committed" if final.committed else "rejected")
            return final
        if resp.status_code != 202:
            self._on_result(node, f"http_{resp.status_code}")
            if resp.status_code in RETRY_AFTER_STATUSES:
                self._honour_retry_after(node, batch, resp)
            return None
        self._on_result(node, "accepted")
        return await self._poll(node, batch)

    async def _poll(self, node: str, batch: Batch) -> Decision | None:
        url = f"{node}/v1/batches/{batch.gateway_id}/{batch.batch_seq}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.params.commit_timeout_s
        while loop.time() < deadline:
            await asyncio.sleep(self.params.poll_interval_s)
            try:
                resp = await self._client.get(url)
            except httpx.HTTPError:
                self._on_result(node, "error")
                return None
            answer = NodeAnswer.of(resp)
            if answer.http_status == 200 and answer.status in ("committed", "rejected"):
                # a status read is 200 whatever the fate: read it as the submit's answer would be
                as_submit = replace(answer, http_status=422 if answer.status == "rejected" else 200)
                final = self._final(node, as_submit, batch)
                if final is not None:
                    self._on_result(node, "committed" if final.committed else "rejected")
                return final
            if answer.http_status != 200 or answer.status == "unknown":
                return None          # the node lost it or broke: send again elsewhere
        self._on_result(node, "timeout")
        return None

    @staticmethod
    def _final(node: str, answer: NodeAnswer, batch: Batch) -> Decision | None:
        status = answer.http_status
        if status == 200 and answer.status == "committed":
            digest = answer.digest
            if digest is not None and digest != hashlib.sha256(batch.encode()).hexdigest():
                return Decision(False, reason=CONFLICT, node=node, field="batch",
                                detail=f"batch: a different batch is committed under batch_seq "
                                       f"{batch.batch_seq} at height {answer.height} (digest {digest})")
            return Decision(True, answer.height, node=node)
        if status == 409 and answer.status == "conflict":
            return Decision(False, reason=CONFLICT, detail=answer.detail, node=node,
                            field=answer.field)
        if status == 422 and answer.status == "rejected":
            return Decision(False, reason=answer.reason, detail=answer.detail, node=node,
                            field=answer.field)
        if status == 400:
            return Decision(False, reason="malformed", detail=f"{answer.field}: {answer.error}",
                            node=node, field=answer.field)
        return None
