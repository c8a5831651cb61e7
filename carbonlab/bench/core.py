"""The consensus core with no network: n replicas in one process, each with its own SQLite
ledger, messages delivered in-process (FIFO), readings in gateway batches signed beforehand.

What `carbonlab bench core` measures: every replica does all it does in a node (decode and
verify every vote, persist its records, run the contract, commit each block with FULL sync),
only the sockets are missing. All n replicas share this one process and so one core: the
Ed25519 ceiling for the run is one core's verify rate / n x readings per batch (each batch
verified once on every replica).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from carbonlab.node.genesis import Params
from carbonlab.node.ledger import Ledger
from carbonlab.node.pbft import Action, Execute, Persist, Replica, Send, ServeBlocks
from carbonlab.node.sim.kit import Kit


class Bench:
    """The replicas `members` (default: all of genesis) with their ledgers; a message for a
    replica hosted elsewhere goes to `remote(to, data)` (`core_workers`: another process)."""

    def __init__(self, kit: Kit, directory: Path, members: tuple[str, ...] | None = None,
                 remote: Callable[[str, bytes], None] | None = None) -> None:
        self.kit = kit
        self.ids = kit.genesis.member_ids
        hosted = self.ids if members is None else members
        self.ledgers = {m: Ledger.open(directory / f"{m}.sqlite", kit.genesis) for m in hosted}
        self.replicas = {m: Replica(kit.genesis, m, kit.members[m]) for m in hosted}
        self.remote = remote
        self.queue: deque[tuple[str, bytes]] = deque()
        self.now_ms = 0
        self.committed = dict.fromkeys(hosted, 0)   # readings committed, per hosted replica

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()

    def handle(self, member: str, actions: list[Action]) -> None:
        ledger = self.ledgers[member]
        records: list[bytes] = []
        for a in actions:          # driver rule: persist and execute before sending
            if isinstance(a, Persist):
                records.append(a.record)
            elif isinstance(a, Execute):
                # as the node's driver does: a block goes down with the records before it
                block = ledger.commit(a.proposal, a.certificate, records)
                records = []
                self.committed[member] += sum(len(b.readings) for v, b in
                                              zip(block.verdicts, block.batches, strict=True)
                                              if v.accepted and b is not None)
        if records:
            ledger.save_consensus_records(records)
        for a in actions:
            if isinstance(a, ServeBlocks):
                blocks = [(b.proposal, b.certificate) for b in ledger.blocks(a.from_seq, a.to_seq)]
                a = self.replicas[member].blocks_reply(a.to, blocks)
            if isinstance(a, Send):
                for to in (self.ids if a.to is None else (a.to,)):
                    if to == member:
                        continue
                    if to in self.replicas:
                        self.queue.append((to, a.data))
                    elif self.remote is not None:
                        self.remote(to, a.data)

    def pump(self) -> None:
        while self.queue:
            to, data = self.queue.popleft()
            self.handle(to, self.replicas[to].receive(data, self.now_ms))

    def run(self, batches: list[bytes]) -> tuple[float, float]:
        """(wall seconds, this process's CPU seconds) until every replica committed everything."""
        primary = self.kit.genesis.primary_of(0)
        target = self.ledgers[primary]
        started, cpu = time.perf_counter(), time.process_time()
        for data in batches:
            self.handle(primary, self.replicas[primary].submit(data, self.now_ms))
            self.pump()
        while min(ledger.height for ledger in self.ledgers.values()) < target.height or \
                self.replicas[primary].requests.queue:
            self.now_ms += 50
            for m in self.ids:
                self.handle(m, self.replicas[m].tick(self.now_ms))
            self.pump()
        return time.perf_counter() - started, time.process_time() - cpu


@dataclass(frozen=True, slots=True)
class CoreResult:
    nodes: int
    batches: int
    readings_per_batch: int
    blocks: int
    seconds: float
    cpu_seconds: float
    readings: dict[str, int]      # committed per replica

    @property
    def committed(self) -> int:
        return min(self.readings.values())

    @property
    def readings_per_s(self) -> float:
        return self.committed / self.seconds

    @property
    def readings_per_cpu_s(self) -> float:
        return self.committed / self.cpu_seconds


def bench_kit(nodes: int, gateways: int) -> Kit:
    params = asdict(Params())
    params["request_timeout_ms"] = 600_000      # no view change while the benchmark runs
    return Kit.build(nodes, gateways, params)


def run_core(kit: Kit, batches: list[bytes], readings_per_batch: int, directory: Path) -> CoreResult:
    bench = Bench(kit, directory)
    try:
        seconds, cpu_seconds = bench.run(batches)
        heights = {m: ledger.height for m, ledger in bench.ledgers.items()}
        readings = {m: ledger.reading_count() for m, ledger in bench.ledgers.items()}
    finally:
        bench.close()
    return CoreResult(len(kit.genesis.member_ids), len(batches), readings_per_batch,
                      min(heights.values()), seconds, cpu_seconds, readings)
