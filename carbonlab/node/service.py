"""The node process: ledger, replica, libp2p driver and HTTP API in one trio nursery.

Start-up order: load and check configuration, genesis and key; open the ledger
(the writer connection, used by the consensus loop) and a second connection for
the API's queries, so a long query never delays a commit; rebuild the replica from
the ledger's consensus records, height and head hash; then start the p2p host, the
driver loop and the API. Client submissions enter the same event channel as peer
messages, so the replica is only ever touched by the driver task.

Start-up split (issue 17: ready to vote within 2 s of the process start). Each step logs
the process age (`since_process_start_s`, seconds since the kernel started the process)
and the CPU seconds the process has used (`cpu_s`, all its threads: the figure a shared
machine's load does not stretch) when it ends: "imported" (the modules voting needs),
"ledger opened" (both connections, with the checks made at open), "recovered" (replica
rebuilt from the consensus records), "node started" (p2p host listening and API serving),
"p2p linked" (2f peers connected, with this node a quorum) and the driver's "first vote".
The p2p host and the driver start before the API: the API's modules (hypercorn,
starlette, the query modules) are imported in a worker thread while the node links and
can already vote. `carbonlab bench startup --node` and `bench consensus` read the split
from the log (`carbonlab.bench.startup_split`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from carbonlab.node import contract
from carbonlab.node.allowances import contract as allowance_contract
from carbonlab.node.allowances.answers import RecordState, RecordStatus
from carbonlab.node.allowances.records import SignedRecord
from carbonlab.node.config import NodeConfig
from carbonlab.node.crypto import Signer
from carbonlab.node.decision import Decision, DecisionStatus, batch_digest
from carbonlab.node.driver import (
    CLIENT,
    BlockSummary,
    Driver,
    LedgerThread,
    OutboundFilter,
    Pending,
    now_ms,
    process_age_s,
)
from carbonlab.node.errors import NodeError, Overloaded
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.store import Ledger
from carbonlab.node.metrics import NodeMetrics
from carbonlab.node.model import Batch
from carbonlab.node.p2p.host import Inbound, P2PNode
from carbonlab.node.pbft import RecoveredState, Replica
from carbonlab.node.peers import MemberStatus, PeersReport

log = logging.getLogger("carbonlab.node")
PENDING_TTL_S = 600.0
LATENCY_WINDOW = 200     # submissions the mean commit latency of /v1/peers covers
RETRY_AFTER_S = 1
LINKED_POLL_S = 0.02   # how often start-up looks whether a quorum of peers is connected
STATELESS_OK = (contract.Reason.REPLAY_BATCH, contract.Reason.REPLAY_READING)


class NodeService:
    def __init__(self, config: NodeConfig, *, outbound_filter: OutboundFilter | None = None) -> None:
        self.config = config
        self.outbound_filter = outbound_filter   # see driver.OutboundFilter; None in production
        self.genesis = Genesis.load(config.genesis_file)
        self.signer = Signer.load(config.key_file)
        if self.genesis.member_keys.get(config.member_id) not in (None, self.signer.public_key):
            raise NodeError(f"{config.path}: key_file: {config.key_file} is not the key genesis names "
                            f"for member {config.member_id!r}")
        self.peer_specs = config.peer_specs(self.genesis)
        self.metrics = NodeMetrics(self.genesis)
        self.pending: dict[tuple[str, int], Pending] = {}
        self.pending_records: dict[str, Pending] = {}     # record id -> waiting for its block
        self.latencies_s: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._events_send, self._events = trio.open_memory_channel[Inbound](config.p2p.inbound_buffer)
        self.p2p = P2PNode(config.member_id, self.signer, config.p2p_listen, self.peer_specs,
                           config.p2p, deliver=self._events_send)
        self.driver: Driver | None = None
        self.reader: LedgerThread | None = None
        self.started = trio.Event()

    # -- running --------------------------------------------------------------------------
    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        _started_step("imported")
        path, genesis = self.config.ledger_path, self.genesis
        writer = await trio.to_thread.run_sync(Ledger.open, path, genesis)
        reader = await trio.to_thread.run_sync(Ledger.open_readonly, path, genesis)
        _started_step("ledger opened", height=writer.height)
        if self.config.ledger_sync != "full":
            writer.set_sync("normal")
        try:
            recovered = await trio.to_thread.run_sync(_recovered, writer)
            replica = Replica(genesis, self.config.member_id, self.signer, recovered=recovered,
                              now_ms=now_ms(), max_in_flight=self.config.max_blocks_in_flight or None)
            _started_step("recovered", height=writer.height, records=len(recovered.records),
                          view=replica.view)
            self.reader = LedgerThread(reader)
            self.driver = Driver(replica, LedgerThread(writer), self.reader, self.p2p, self._events,
                                 self._on_block, self.outbound_filter)
            self._wire_metrics(replica)
            async with trio.open_nursery() as nursery:
                # what voting needs first; the API (hypercorn, starlette and the query modules:
                # not needed to vote) is imported in a worker thread while the node links
                await nursery.start(self.p2p.run)
                nursery.start_soon(self.driver.run)
                nursery.start_soon(self._housekeeping)
                nursery.start_soon(self._log_linked)
                serve_api = await trio.to_thread.run_sync(_api_server)
                await nursery.start(serve_api, self)
                self.started.set()
                _started_step("node started", peer_id=str(self.p2p.peer_id), p2p=str(self.config.p2p_listen),
                              api=f"{self.config.api_host}:{self.config.api_port}")
                task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(writer.close)
                await trio.to_thread.run_sync(reader.close)

    async def _log_linked(self) -> None:
        """Log "p2p linked" once 2f peers are connected (with this node, a quorum)."""
        quorum = 2 * self.genesis.f
        while len(self.p2p.connected_peers()) < quorum:
            await trio.sleep(LINKED_POLL_S)
        _started_step("p2p linked", peers=len(self.p2p.connected_peers()))

    def _wire_metrics(self, replica: Replica) -> None:
        live = self.metrics.live
        driver = self.driver
        assert driver is not None
        live.p2p_stats = lambda: dict(self.p2p.stats)
        live.messages = lambda: dict(driver.messages)
        live.replica_dropped = lambda: dict(replica.dropped)
        live.ledger_writes = lambda: dict(driver.write_stats)

    async def _housekeeping(self) -> None:
        driver = self.driver
        assert driver is not None
        seen_vc = seen_st = 0
        while True:
            self.refresh_live()
            self.metrics.view_changes.inc(driver.view_changes - seen_vc)
            self.metrics.state_transfers.inc(driver.state_transfers - seen_st)
            seen_vc, seen_st = driver.view_changes, driver.state_transfers
            cutoff = time.monotonic() - PENDING_TTL_S
            for key in [k for k, p in self.pending.items() if p.since < cutoff]:
                del self.pending[key]
            for rid in [k for k, p in self.pending_records.items() if p.since < cutoff]:
                del self.pending_records[rid]
            await trio.sleep(0.25)

    def refresh_live(self) -> None:
        """Copy the consensus loop's figures into the metrics (also right before a scrape)."""
        driver = self.driver
        assert driver is not None
        live = self.metrics.live
        replica = driver.replica
        live.height, live.view, live.is_primary = driver.height, replica.view, replica.is_primary
        live.peers = {m: self.p2p.peer_up(m) for m in self.p2p.peers}

    def _on_block(self, summary: BlockSummary) -> None:
        m = self.metrics
        m.blocks_committed.inc()
        for outcome in summary.records:
            m.records.labels("accepted" if outcome.accepted else str(outcome.reason)).inc()
            waiting = self.pending_records.pop(outcome.record_id, None)
            if waiting is not None:
                waiting.decided.set()
        digests = summary.digests or (None,) * len(summary.verdicts)
        for verdict, digest in zip(summary.verdicts, digests, strict=True):
            if verdict.accepted and verdict.gateway_id is None:
                continue   # a record request's neutral verdict (ledger/allowance_rows.py)
            if verdict.accepted:
                m.batches_accepted.inc()
            else:
                m.batches_rejected.labels(verdict.reason.value if verdict.reason else "unknown").inc()
            if verdict.gateway_id is not None and verdict.batch_seq is not None:
                pending = self.pending.pop((verdict.gateway_id, verdict.batch_seq), None)
                if pending is not None:
                    if verdict.accepted and digest is not None:
                        pending.committed = Decision(DecisionStatus.COMMITTED, summary.height, digest=digest)
                    m.commit_latency.observe(time.monotonic() - pending.since)
                    self.latencies_s.append(time.monotonic() - pending.since)
                    pending.decided.set()
        per_meter: dict[str, list[float]] = {}
        for meter, co2 in summary.readings:
            per_meter.setdefault(meter, []).append(co2)
        for meter, masses in per_meter.items():
            m.readings(meter, len(masses), sum(masses))
        for kind, meter in summary.anomalies:
            m.anomalies.labels(kind, meter).inc()

    # -- what the API calls ---------------------------------------------------------------
    def precheck(self, batch: Batch, *, decoded: bool = False) -> Decision | None:
        """The contract's stateless checks; a rejection when the batch can never be accepted.
        `decoded`: `batch` is `Batch.decode` of its bytes (the API's binary route), so the
        contract takes it instead of decoding them again; a batch built from JSON is not."""
        # the writer ledger's memories of verified signatures and of batches that passed every
        # stateless check: the block that commits this batch verifies its signature, decodes it
        # and checks it statelessly no second time (node/sigcache.py, node/checkedbatches.py)
        ledger = self.driver.writer.ledger if self.driver is not None else None
        verdict, _ = contract.evaluate(self.genesis, contract.ContractState(), batch.encode(),
                                       None if ledger is None else ledger.signatures,
                                       None if ledger is None else ledger.checked,
                                       batch if decoded else None)
        if verdict.accepted or verdict.reason in STATELESS_OK:
            return None
        return Decision.rejected(verdict.reason.value if verdict.reason else "malformed",
                                 verdict.field or "batch", verdict.detail)

    async def submit(self, batch: Batch, wait_s: float = 0.0) -> Decision:
        """Order a batch (idempotent on its key for the identical batch); the answer is the
        decision if already known. A different batch under a committed key is a conflict."""
        key = batch.key
        request = batch.encode()
        decided = await self._decided(batch, request)
        if decided is not None:
            return decided
        pending = self.pending.get(key)
        if pending is None:
            self._admit()
            pending = self.pending[key] = Pending(time.monotonic())
        await self._events_send.send(Inbound("", CLIENT, request))
        if wait_s > 0:
            with trio.move_on_after(wait_s):
                await pending.decided.wait()
            if pending.decided.is_set():
                # what became of THESE bytes: the block that decided the key says so when it
                # accepted them (the common case, no ledger read); otherwise the ledger does
                # (a rejection, or another batch under the same key: a conflict)
                committed = pending.committed
                if committed is not None and committed.digest == batch_digest(request):
                    return committed
                decided = await self._decided(batch, request)
                if decided is not None:
                    return decided
        return Decision(DecisionStatus.ACCEPTED)

    def _admit(self) -> None:
        """Refuse a new batch (`Overloaded`) while `max_pending_batches` are undecided here.

        A batch already pending is never refused (re-POSTing it takes no room), and the bound
        is checked before anything of the new one is kept, so a refusal loses nothing."""
        bound = self.config.max_pending_batches
        if len(self.pending) >= bound:
            self.metrics.batches_refused.inc()
            raise Overloaded(len(self.pending), bound, RETRY_AFTER_S)

    async def _decided(self, batch: Batch, request: bytes) -> Decision | None:
        status = await self.batch_status(*batch.key, request=request)
        if status.status is DecisionStatus.COMMITTED and status.digest != batch_digest(request):
            assert status.height is not None
            assert status.digest is not None
            self.metrics.batches_conflicting.labels(batch.gateway_id).inc()
            log.warning("conflicting batch", extra={"gateway_id": batch.gateway_id,
                                                    "batch_seq": batch.batch_seq,
                                                    "committed_digest": status.digest,
                                                    "digest": batch_digest(request)})
            return Decision.conflict(batch.gateway_id, batch.batch_seq, status.height, status.digest)
        return status if status.final else None

    async def batch_status(self, gateway_id: str, batch_seq: int,
                           request: bytes | None = None) -> Decision:
        """What became of a batch: a point lookup, on the loop's thread when the reader is free
        (`LedgerThread.lookup`; asked before ordering each batch)."""
        assert self.reader is not None
        decided: Decision | None = await self.reader.lookup(
            lambda ledger: ledger.batch_status(gateway_id, batch_seq, request))
        if decided is not None:
            return decided
        if (gateway_id, batch_seq) in self.pending:
            return Decision(DecisionStatus.PENDING)
        return Decision(DecisionStatus.UNKNOWN)

    # -- allowance records (node/allowances) ------------------------------------------------
    def precheck_record(self, record: SignedRecord) -> RecordStatus | None:
        """A refusal before ordering for a record no ledger state can make acceptable (genesis
        alone decides: chain, signer, signature, role, companies, a surrender's member)."""
        outcome = allowance_contract.stateless_refusal(self.genesis, record)
        if outcome is None:
            return None
        return RecordStatus(outcome.record_id, RecordState.REFUSED, None, outcome.reason,
                            outcome.field, outcome.detail)

    async def submit_record(self, record: SignedRecord, wait_s: float = 0.0) -> RecordStatus:
        """Order a record (idempotent on its bytes); with `wait_s`, wait that long for its block."""
        request = record.encode()
        rid = record.record_id
        known = await self.record_status(rid)
        if known.final:
            return known
        pending = self.pending_records.get(rid)
        if pending is None:
            pending = self.pending_records[rid] = Pending(time.monotonic())
        await self._events_send.send(Inbound("", CLIENT, request))
        if wait_s > 0:
            with trio.move_on_after(wait_s):
                await pending.decided.wait()
        return await self.record_status(rid)

    async def record_status(self, record_id: str) -> RecordStatus:
        found: RecordStatus | None = await self.query(lambda ledger: ledger.record_status(record_id))
        if found is not None:
            return found
        state = RecordState.PENDING if record_id in self.pending_records else RecordState.UNKNOWN
        return RecordStatus(record_id, state)

    async def query(self, fn: Any) -> Any:
        assert self.reader is not None
        return await self.reader.call(fn)

    def status(self) -> dict[str, Any]:
        driver = self.driver
        assert driver is not None
        replica = driver.replica
        top = max(replica.peer_heights.values(), default=driver.height)
        return {"member_id": self.config.member_id, "chain_id": self.genesis.chain_id,
                "height": driver.height, "view": replica.view,
                "primary": replica.primary, "peers_connected": self.p2p.connected_peers(),
                "lag": max(0, top - driver.height), "head_hash": driver.head_hash.hex(),
                "stable_checkpoint": replica.stable.seq}

    def peers(self) -> PeersReport:
        """Every member as this node sees it (carbonlab.node.peers says from what)."""
        driver = self.driver
        assert driver is not None
        replica = driver.replica
        now = now_ms()
        heard = replica.transfer.peer_status
        members = []
        for member in self.genesis.member_ids:
            if member == self.config.member_id:
                members.append(MemberStatus(member, True, driver.height, replica.view, 0))
                continue
            view, height, at_ms = heard.get(member, (None, None, None))
            members.append(MemberStatus(member, self.p2p.peer_up(member), height, view,
                                        None if at_ms is None else max(0, now - at_ms)))
        latency = (1000 * sum(self.latencies_s) / len(self.latencies_s)) if self.latencies_s else None
        return PeersReport(self.config.member_id, driver.height, replica.view, replica.primary,
                           latency, tuple(members))


def _api_server() -> Callable[..., Awaitable[None]]:
    from carbonlab.node.api.server import serve_api

    return serve_api


def _started_step(msg: str, **extra: Any) -> None:
    log.info(msg, extra={**extra, "since_process_start_s": round(process_age_s(), 3),
                         "cpu_s": round(time.process_time(), 3)})


def _recovered(ledger: Ledger) -> RecoveredState:
    return RecoveredState(ledger.load_consensus_records(), ledger.height, ledger.head_hash,
                          dict(ledger.state.last_batch_seq))
