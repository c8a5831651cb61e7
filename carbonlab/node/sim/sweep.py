"""Seed sweeps of the simulator across processes.

Each seed is an independent, deterministic run, so a sweep gives the same results in one
process or many, and hands them back in seed order. The workers are started by a fork server
(not forked from a caller that may run threads) and import only the simulator.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from carbonlab.node.sim.world import SimResult, simulate


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
    """Simulate every seed; yield the results in seed order, on up to `workers` processes."""
    jobs = [(seed, n, faults, steps) for seed in seeds]
    count = min(workers or default_workers(), len(jobs))
    if count <= 1:
        yield from map(_run, jobs)
        return
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("forkserver"))
    try:
        yield from pool.map(_run, jobs, chunksize=max(1, len(jobs) // (count * 8)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
