"""Carrying out what the replica asks: persist and execute durably, then send.

Theory of operation. One trio task (`Driver.run`) owns the replica: it takes
events (peer messages, client requests) from one channel, feeds a burst of them to the
replica, and collects all the actions they returned. It ticks the replica only when the
replica's earliest timer is due (`Replica.next_tick_ms`: the primary's batch delay, a
request or view-change timer, the resend and status rounds), at most every `tick_s` and at
least every `IDLE_TICK_S`: an idle member sleeps instead of waking 100 times a second
(seven idle members took a third of a core that way on this machine). Every
`Persist`, `Execute` and `StableCheckpoint` of the burst then goes to the ledger in one
call, and only when that call has returned (SQLite with synchronous=FULL) do the burst's
`Send`s leave. A burst with a block to execute goes to a worker thread (the Ledger is used
by one thread at a time: a CapacityLimiter of 1), so a large block does not stall the
transport; a burst of records alone (a vote's record before the vote, a checkpoint) is one
small transaction written on the loop's own thread: a worker-thread call cost more CPU than
the write it carried (`bench consensus` at 500 readings/s, two or three record writes per
block and member: docs/performance.md, "Fewer frames and thread calls per block"). The
driver is the writer ledger's only user and awaits each call, so the two never overlap.
That is stronger than the per-call rule of `pbft.actions` (persist before the sends of the
same list) and amortises the fsyncs over the burst: each block goes
down in one transaction together with the records that precede it, the records after
the last block in one more. Every `COMPACT_AFTER_BLOCKS` of stable checkpoint the same
call drops the records a restart no longer needs (`pbft.records.compact`). `ServeBlocks`
is answered from the read-only query ledger in a task of its own, so a large state
transfer never holds up the consensus loop.

The first vote the node sends (a PRE-PREPARE, PREPARE or COMMIT) is logged once as "first
vote" with `since_process_start_s`, the seconds since the kernel started this process: how
long a node takes from its start until it takes part in agreement (issue 17 asks for 2 s;
`bench consensus` restarts a member under load and reads it).

Every outgoing message passes `Driver.send`. An `outbound_filter` given to the driver
(through `NodeService`) sees each one first and returns the messages to really send:
the same one, others, more, or none (silence). Production nodes have none; the rig's
Byzantine node (`carbonlab.rig.byzantine`) composes its lies through it, so nothing
replaces the driver's methods at run time.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import trio

from carbonlab.node.allowances.contract import Outcome
from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.contract import Verdict
from carbonlab.node.decision import Decision, batch_digest
from carbonlab.node.ledger.store import CommittedBlock, Ledger
from carbonlab.node.p2p.host import CONSENSUS, STATE_TRANSFER, Inbound, P2PNode
from carbonlab.node.pbft import (
    Execute,
    Persist,
    Replica,
    Send,
    ServeBlocks,
    StableCheckpoint,
    StateTransfer,
    ViewChanged,
    records,
)
from carbonlab.node.pbft.envelope import peek_kind
from carbonlab.node.pbft.messages import CheckpointProof, Kind

log = logging.getLogger("carbonlab.node.driver")
T = TypeVar("T")
CLIENT = "client"
BURST = 512
IDLE_TICK_S = 0.1            # the longest the loop sleeps without a message or a timer due
COMPACT_AFTER_BLOCKS = 256   # compact the consensus records when the stable checkpoint moved this far
_STATE_KINDS = (Kind.FETCH, Kind.BLOCKS)
_VOTE_KINDS = (Kind.PRE_PREPARE, Kind.PREPARE, Kind.COMMIT)

Durable = Persist | Execute | StableCheckpoint
OutboundFilter = Callable[[Send], Iterable[Send]]
"""Takes a message the replica wants sent; returns the messages to really send (none: silent)."""


def now_ms() -> int:
    return int(time.time() * 1000)


def process_age_s() -> float:
    """Seconds since the kernel started this process (Linux: /proc, clock ticks of 10 ms)."""
    with open("/proc/self/stat") as fh:
        start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as fh:
        uptime_s = float(fh.read().split()[0])
    return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")


def _kind_name(kind: Kind | None) -> str:
    """The `type` label of `carbonlab_messages_total`."""
    return "unknown" if kind is None else kind.name.lower()


class LedgerThread:
    """A Ledger reached from trio through worker threads, one call at a time."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._limiter = trio.CapacityLimiter(1)

    async def call(self, fn: Callable[[Ledger], T]) -> T:
        return await trio.to_thread.run_sync(fn, self.ledger, limiter=self._limiter)

    async def lookup(self, fn: Callable[[Ledger], T]) -> T:
        """`call` for a point lookup (one indexed SELECT): on the loop's own thread when no
        worker holds the ledger, which saves a worker-thread call dearer than the lookup (the
        API asks one before ordering each batch); in a worker otherwise."""
        try:
            self._limiter.acquire_nowait()
        except trio.WouldBlock:
            return await self.call(fn)
        try:
            return fn(self.ledger)
        finally:
            self._limiter.release()


@dataclass
class BlockSummary:
    height: int
    head_hash: bytes
    verdicts: tuple[Verdict, ...]
    readings: list[tuple[str, float]]          # (meter, co2_kg) of accepted readings
    anomalies: list[tuple[str, str]]           # (kind, meter)
    records: tuple[Outcome, ...] = ()          # the allowance contract's outcomes
    digests: tuple[str | None, ...] = ()       # per verdict: SHA-256 (hex) of the batch's bytes


@dataclass
class Pending:
    since: float
    decided: trio.Event = field(default_factory=trio.Event)
    # set with `decided` when the block that decided the key accepted a batch under it: the
    # decision and the digest of the bytes it accepted (the waiting submit answers from these
    # when they are its own bytes, without asking the ledger again)
    committed: Decision | None = None


class Driver:
    def __init__(self, replica: Replica, writer: LedgerThread, reader: LedgerThread, p2p: P2PNode,
                 events: trio.MemoryReceiveChannel[Inbound],
                 on_block: Callable[[BlockSummary], None],
                 outbound_filter: OutboundFilter | None = None) -> None:
        self.replica = replica
        self.outbound_filter = outbound_filter
        self.writer = writer
        self.reader = reader
        self.p2p = p2p
        self.events = events
        self.on_block = on_block
        self.messages: Counter[tuple[str, str]] = Counter()  # (kind, direction)
        self.write_stats: dict[str, float] = {"seconds": 0.0, "calls": 0, "actions": 0}
        self.view_changes = 0
        self.state_transfers = 0
        self.first_vote_s: float | None = None   # process age at the first vote sent
        self.height = writer.ledger.height
        self.head_hash = writer.ledger.head_hash
        self.compacted_at = 0   # stable checkpoint at the last compaction of the consensus records
        self.tick_s = max(0.005, min(0.02, replica.params.batch_delay_ms / 2000))
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            next_tick = last_tick = trio.current_time()
            while True:
                actions: list[Any] = []
                with trio.move_on_at(next_tick):
                    first = await self.events.receive()
                    actions += self._dispatch(first)
                    for _ in range(BURST):
                        try:
                            item = self.events.receive_nowait()
                        except trio.WouldBlock:
                            break
                        actions += self._dispatch(item)
                if trio.current_time() >= next_tick:
                    now = now_ms()
                    self.replica.links(self.p2p.reachable_peers(), now)
                    actions += self.replica.tick(now)
                    last_tick = trio.current_time()
                if actions:
                    await self._apply(actions)
                next_tick = self._next_tick(last_tick)

    def _next_tick(self, last_tick: float) -> float:
        """When to tick next (trio's clock): when the replica's earliest timer falls due, but
        not sooner than `tick_s` after the last tick (a timer already due, e.g. a full queue
        held back by the watermark, must not spin) nor later than `IDLE_TICK_S` after it (the
        transport's word on which peers it reaches is read at each tick)."""
        due_in_s = (self.replica.next_tick_ms() - now_ms()) / 1000
        now = trio.current_time()
        return min(max(now + due_in_s, last_tick + self.tick_s), last_tick + IDLE_TICK_S)

    def _dispatch(self, item: Inbound) -> list[Any]:
        if item.protocol == CLIENT:
            return self.replica.submit(item.data, now_ms())
        self.messages[(_kind_name(peek_kind(item.data)), "in")] += 1
        return self.replica.receive(item.data, now_ms())

    async def _apply(self, actions: list[Any]) -> None:
        durable = [a for a in actions if isinstance(a, Durable)]
        if durable:
            started = time.perf_counter()
            stable = self.replica.stable.seq
            compact = stable >= self.compacted_at + COMPACT_AFTER_BLOCKS
            if compact:
                self.compacted_at = stable
            if compact or any(isinstance(a, Execute) for a in durable):
                with trio.CancelScope(shield=True):
                    summaries = await self.writer.call(lambda ledger: _write(ledger, durable, compact))
            else:
                summaries = _write(self.writer.ledger, durable, compact)   # records alone: small
            self.write_stats["seconds"] += time.perf_counter() - started
            self.write_stats["calls"] += 1
            self.write_stats["actions"] += len(durable)
            for summary in summaries:
                self.height, self.head_hash = summary.height, summary.head_hash
                self.on_block(summary)
        for action in actions:
            if isinstance(action, Send):
                self.send(action)
            elif isinstance(action, ServeBlocks):
                assert self._nursery is not None
                self._nursery.start_soon(self._serve, action)
            elif isinstance(action, ViewChanged):
                self.view_changes += 1
                log.info("view changed", extra={"view": action.view, "primary": action.primary})
            elif isinstance(action, StateTransfer):
                self.state_transfers += 1
                log.info("state transfer", extra={"peer": action.peer, "from_seq": action.from_seq,
                                                   "to_seq": action.to_seq})

    def send(self, action: Send) -> None:
        """Send `action`, or what the outbound filter makes of it when one is installed."""
        if self.outbound_filter is None:
            self._transmit(action)
            return
        for out in self.outbound_filter(action):
            self._transmit(out)

    def _transmit(self, action: Send) -> None:
        kind = peek_kind(action.data)
        if self.first_vote_s is None and kind in _VOTE_KINDS:
            self.first_vote_s = process_age_s()
            log.info("first vote", extra={"kind": _kind_name(kind),
                                          "since_process_start_s": round(self.first_vote_s, 3),
                                          "cpu_s": round(time.process_time(), 3)})
        self.messages[(_kind_name(kind), "out")] += 1 if action.to is not None else len(self.p2p.peers)
        protocol = STATE_TRANSFER if kind in _STATE_KINDS else CONSENSUS
        self.p2p.send(action.to, action.data, protocol)

    async def _serve(self, action: ServeBlocks) -> None:
        lo, hi = action.from_seq, action.to_seq
        blocks = await self.reader.call(lambda ledger: ledger.blocks(lo, hi))
        pairs: list[tuple[Proposal, CommitCertificate]] = [(b.proposal, b.certificate) for b in blocks]
        reply = self.replica.blocks_reply(action.to, pairs)
        if isinstance(reply, Send):
            self.send(reply)


def _write(ledger: Ledger, durable: list[Durable], compact: bool) -> list[BlockSummary]:
    """Apply in order, one transaction per block with the records that precede it.

    Records after the last block of the burst go down in one transaction of their own.
    A stable checkpoint is stored after the transaction that follows it (the block it
    names may come later in the same burst, after a state transfer). With `compact`, the
    records a restart no longer needs are then dropped (one more transaction), so the
    table stays a few checkpoint intervals long."""
    out = []
    run: list[bytes] = []
    stable: list[CheckpointProof] = []
    for action in durable:
        if isinstance(action, Persist):
            run.append(action.record)
            continue
        if isinstance(action, StableCheckpoint):
            stable.append(action.proof)
            continue
        out.append(_summary(ledger, ledger.commit(action.proposal, action.certificate, run)))
        _store_checkpoints(ledger, stable)
        run, stable = [], []
    if run:
        ledger.save_consensus_records(run)
    _store_checkpoints(ledger, stable)
    if compact:
        ledger.replace_consensus_records(records.compact(ledger.load_consensus_records()))
    return out


def _store_checkpoints(ledger: Ledger, proofs: list[CheckpointProof]) -> None:
    for proof in proofs:
        if 0 < proof.seq <= ledger.height and ledger.block_hash(proof.seq) == proof.block_hash:
            ledger.put_checkpoint(proof.seq, proof.block_hash, proof.signatures)


def _summary(ledger: Ledger, block: CommittedBlock) -> BlockSummary:
    readings: list[tuple[str, float]] = []
    anomalies: list[tuple[str, str]] = []
    digests: list[str | None] = []
    # `block` is what `Ledger.commit` returned: it carries the batches the contract decoded
    for verdict, batch in zip(block.verdicts, block.batches, strict=True):
        digests.append(None if batch is None else batch_digest(batch.encode()))
        if not verdict.accepted or batch is None:
            continue
        readings += [(r.meter_id, r.co2_kg) for r in batch.readings]
        anomalies += [(str(kind), batch.readings[i].meter_id) for i, kind in verdict.anomalies]
    return BlockSummary(block.header.height, block.hash, block.verdicts, readings, anomalies,
                        block.records, tuple(digests))
