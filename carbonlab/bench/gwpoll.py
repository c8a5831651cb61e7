"""The poller side of `bench gateway`: one process that runs the gateway's `Poller` against the
meters named in a JSON spec and prints one JSON object of what it measured.

It is a process of its own so that its CPU is the gateway's alone: the emulated meters run
in another process. The CPU share is this process's CPU time (user + system, all threads:
`time.process_time`, the kernel's per-process clock that /proc/self/stat also reports) over
the wall time of the measured window, which opens after a warm-up (connections made, the
links' schedules spread over one period). Only `Poller(endpoints, sink)`, `MeterEndpoint`
and `Sample` are used, so the same harness measures older code (`--baseline`).

Run as `python -m carbonlab.bench.gwpoll SPEC.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any


async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    from carbonlab.gateway.endpoint import MeterEndpoint
    from carbonlab.gateway.poller import Poller
    from carbonlab.gateway.sample import Sample

    endpoints = [MeterEndpoint.from_dict(m, Path("<bench>")) for m in spec["meters"]]
    window_open = False
    latencies: list[float] = []
    counts = {"ok": 0, "all": 0}

    async def sink(sample: Sample) -> None:
        if window_open:
            counts["all"] += 1
            if sample.status.value == "ok":
                counts["ok"] += 1
                latencies.append(sample.latency_s)

    poller = Poller(endpoints, sink)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(spec["warmup"])
    window_open = True
    skipped0, c0, t0 = poller.stats.skipped, time.process_time(), time.monotonic()
    await asyncio.sleep(spec["duration"])
    c1, t1 = time.process_time(), time.monotonic()
    window_open = False
    skipped = poller.stats.skipped - skipped0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    wall = t1 - t0
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"polls_s": counts["all"] / wall, "ok_fraction": counts["ok"] / max(1, counts["all"]),
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "cpu_share": (c1 - c0) / wall,
            "wall_s": wall, "skipped": skipped}


def main(spec_path: str) -> int:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("carbonlab").setLevel(logging.ERROR)   # one line per failing meter otherwise
    spec = json.loads(Path(spec_path).read_text())
    print(json.dumps(asyncio.run(measure(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
