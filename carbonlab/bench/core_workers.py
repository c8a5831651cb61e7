"""`bench core` with its replicas spread over worker processes, as members on their own cores.

Theory of operation. In one process the n replicas share one core, so the run is bounded
by one core's Ed25519 rate / n x readings per batch, while a real consortium has a core
(at least) per member. Here `workers` processes each host some of the replicas (spread
evenly, the primary in a process with fewer: `homes_of`), each replica with its own SQLite
ledger as in `core.Bench`; a message for a replica of another process is put at once on that
process's `multiprocessing` queue (its inbox), in the order it was sent. Every
replica still decodes and verifies every message and batch and commits every block
itself: nothing is shared between replicas but the bytes they send each other.

The clock: a process whose inbox stays empty for 50 ms of real time ticks its replicas
by 50 ms (the primary cuts its last block on a tick), so time passes only when there is
nothing to do, as in the one-process bench. Processes start by spawning (the keys are
derived from names: each rebuilds the same kit), are timed from a common start, report
when their replicas have committed every reading, and stop when the parent says so; the
parent terminates any that does not stop within its timeout (its own children only).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab.bench.core import Bench, CoreResult, bench_kit
from carbonlab.errors import CarbonlabError

TICK_MS = 50
START_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    """What one worker process runs: its replicas and the run's shape."""

    index: int
    homes: dict[str, int]          # member -> the index of the process hosting it
    nodes: int
    gateways: int
    batches: list[bytes]
    readings_per_batch: int
    directory: str

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(m for m, w in self.homes.items() if w == self.index)


def homes_of(member_ids: tuple[str, ...], workers: int, primary: str) -> dict[str, int]:
    """Member -> its process. Each process hosts n // workers replicas or one more; the
    `primary`, which besides its replica's work pre-checks every batch and cuts the blocks,
    lives in the last process, one of those with fewer, and the others are dealt round the
    processes in genesis order."""
    room = [len(member_ids) // workers + (i < len(member_ids) % workers) for i in range(workers)]
    homes = {primary: workers - 1}
    room[-1] -= 1
    turn = 0
    for member in member_ids:
        if member == primary:
            continue
        while room[turn % workers] == 0:
            turn += 1
        homes[member] = turn % workers
        room[turn % workers] -= 1
        turn += 1
    return {m: homes[m] for m in member_ids}


def _worker(plan: WorkerPlan, inboxes: list[Any], report: Any, go: Any, stop: Any) -> None:
    kit = bench_kit(plan.nodes, plan.gateways)

    def remote(to: str, data: bytes) -> None:
        # at once, not after this process's turn: the other process may be waiting for this vote
        # while this one goes on executing blocks
        inboxes[plan.homes[to]].put([(to, data)])

    bench = Bench(kit, Path(plan.directory), plan.members, remote)
    inbox = inboxes[plan.index]
    expected = len(plan.batches) * plan.readings_per_batch
    try:
        report.put(("ready", plan.index, None))
        go.wait()
        cpu = time.process_time()

        def take(timeout: float | None) -> bool:
            """Messages from the inbox into the local queue; False when none came."""
            try:
                items = inbox.get(timeout=timeout) if timeout else inbox.get_nowait()
            except queue.Empty:
                return False
            bench.queue.extend(items)
            return True

        primary = kit.genesis.primary_of(0)
        if primary in bench.replicas:
            for data in plan.batches:
                bench.handle(primary, bench.replicas[primary].submit(data, bench.now_ms))
                while take(None):
                    pass
                bench.pump()
        done = False
        while not stop.is_set():
            if take(TICK_MS / 1000):
                while take(None):
                    pass
            else:
                bench.now_ms += TICK_MS
                for m, replica in bench.replicas.items():
                    bench.handle(m, replica.tick(bench.now_ms))
            bench.pump()
            if not done and min(bench.committed.values()) >= expected:
                done = True
                report.put(("done", plan.index, time.perf_counter()))
        readings = {m: ledger.reading_count() for m, ledger in bench.ledgers.items()}
        heights = {m: ledger.height for m, ledger in bench.ledgers.items()}
        report.put(("result", plan.index, (time.process_time() - cpu, readings, heights)))
    except BaseException as exc:
        report.put(("failed", plan.index, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        bench.close()
        for q in inboxes:   # votes still queued for a process that has stopped are not waited for
            q.cancel_join_thread()


def run_core_workers(nodes: int, gateways: int, batches: list[bytes], readings_per_batch: int,
                     directory: Path, workers: int, timeout_s: float = 1800.0) -> CoreResult:
    """The same run as `core.run_core`, the replicas spread over `workers` processes."""
    ctx = multiprocessing.get_context("spawn")
    genesis = bench_kit(nodes, 1).genesis
    homes = homes_of(genesis.member_ids, workers, genesis.primary_of(0))
    inboxes = [ctx.Queue() for _ in range(workers)]
    report, go, stop = ctx.Queue(), ctx.Event(), ctx.Event()
    procs = []
    for w in range(workers):
        sub = directory / f"worker{w}"
        sub.mkdir(parents=True, exist_ok=True)
        plan = WorkerPlan(w, homes, nodes, gateways, batches, readings_per_batch, str(sub))
        procs.append(ctx.Process(target=_worker, args=(plan, inboxes, report, go, stop),
                                 name=f"carbonlab-bench-core-{w}", daemon=True))
    try:
        for p in procs:
            p.start()
        _await(report, "ready", workers, time.monotonic() + START_TIMEOUT_S)
        started = time.perf_counter()
        go.set()
        finished = _await(report, "done", workers, time.monotonic() + timeout_s)
        seconds = max(float(t) for t in finished.values()) - started
        stop.set()
        results = _await(report, "result", workers, time.monotonic() + 60)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        for q in (*inboxes, report):
            q.close()
            q.join_thread()
    cpu = sum(r[0] for r in results.values())
    readings = {m: n for r in results.values() for m, n in r[1].items()}
    heights = {m: h for r in results.values() for m, h in r[2].items()}
    return CoreResult(nodes, len(batches), readings_per_batch, min(heights.values()), seconds, cpu,
                      readings)


def _await(report: Any, kind: str, count: int, deadline: float) -> dict[int, Any]:
    """`count` reports of `kind` (one per worker) by `deadline`; a worker's failure or the
    deadline is a CarbonlabError naming it."""
    got: dict[int, Any] = {}
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CarbonlabError(f"bench core workers: {count - len(got)} of {count} did not report "
                                 f"'{kind}' in time")
        try:
            what, index, value = report.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if what == "failed":
            raise CarbonlabError(f"bench core worker {index} failed: {value}")
        if what == kind:
            got[index] = value
    return got
