"""Seed sweeps of the simulator across processes.

Each seed is an independent, deterministic run, so a sweep gives the same results in one
process or many, and hands them back in seed order. The workers are started by a fork server
(not forked from a caller that may run threads) and import only the simulator.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sized
from concurrent.futures import Future, ProcessPoolExecutor

from carbonlab.node.sim.world import SimResult, simulate

WINDOW_PER_WORKER = 16     # jobs in flight per worker: enough to keep it busy, few in memory


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _run(job: tuple[int, int, str, int]) -> SimResult:
    seed, n, faults, steps = job
    return simulate(seed, n=n, faults=faults, steps=steps)


def sweep(seeds: Iterable[int], *, n: int, faults: str, steps: int,
          workers: int | None = None) -> Iterator[SimResult]:
    """Simulate every seed; yield the results in seed order, on up to `workers` processes.

    `seeds` is read lazily (a `range` of a trillion seeds costs nothing until run): at most a
    window of `WINDOW_PER_WORKER` jobs per worker is in flight, not one future per seed."""
    jobs = ((seed, n, faults, steps) for seed in seeds)
    count = workers or default_workers()
    if isinstance(seeds, Sized):
        count = min(count, len(seeds))
    if count <= 1:
        yield from map(_run, jobs)
        return
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("forkserver"))
    try:
        pending: deque[Future[SimResult]] = deque()
        for job in jobs:
            pending.append(pool.submit(_run, job))
            if len(pending) >= count * WINDOW_PER_WORKER:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
