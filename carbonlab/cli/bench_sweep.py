"""`carbonlab bench consensus --sweep [--quick] [--plot FILE]`: curves, not points.

For each cluster size n (4, 7, 10, 13) and batch size (1, 20, 200 readings), a fresh cluster
of n node processes is started and the open-loop knee search runs on it (short phases, the
rate doubling each phase from a first rate that suits the batch size, until the
cluster stops keeping up or p99 passes the bound; when that leaves fewer than three points,
the rate halves from the first one until there are three, so every curve shows its turn).
Each phase is one point: committed
readings/s against p50 and p99. The points are printed as a table and plotted (one panel
per batch size, one line per n; p99 solid, p50 dashed) into a PNG with matplotlib, imported
only here. `--quick` runs n = 4, 7 with shorter phases and fewer steps. Each configuration
also gives its start-up figure: the slowest member's seconds from process start to serving.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

SIZES = (4, 7, 10, 13)
QUICK_SIZES = (4, 7)
BATCH_SIZES = (1, 20, 200)
FIRST_RATE = {1: 25.0, 20: 200.0, 200: 500.0}
MIN_POINTS = 3
STEP = 2.0   # coarser than the single search's 1.5: a curve over a wide range in few phases


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sweep", action="store_true",
                        help="knee search for n = 4, 7, 10, 13 and 1, 20, 200 readings per batch; plot")
    parser.add_argument("--quick", action="store_true", help="with --sweep: n = 4, 7, short phases")
    parser.add_argument("--plot", type=Path, default=Path("consensus-sweep.png"),
                        help="with --sweep: the PNG to write (default consensus-sweep.png)")


def run(args: argparse.Namespace) -> int:
    import trio

    from carbonlab.bench.localcluster import LocalCluster
    from carbonlab.bench.openloop import gateways_for, knee, open_ended
    from carbonlab.bench.reference import Reference
    from carbonlab.cli.bench_openloop import MAX_GATEWAYS, ready_times

    sizes = QUICK_SIZES if args.quick else SIZES
    steps = 4 if args.quick else 7   # 7 x2: 64 times the first rate (past 6,000 at 20 per batch)
    duration = args.duration or (4.0 if args.quick else 8.0)
    configs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-sweep-") as tmp:
        reference = Reference.measure(Path(tmp))
        for n in sizes:
            for per_batch in BATCH_SIZES:
                first = FIRST_RATE[per_batch]
                gateways = min(MAX_GATEWAYS, gateways_for(first * STEP ** (steps - 1), per_batch))
                cluster = LocalCluster.create(Path(tmp) / f"n{n}-b{per_batch}", n, gateways=gateways,
                                              meters_per_gateway=1, ledger_sync=args.ledger_sync)
                cluster.start_all()
                try:
                    cluster.wait_ready(timeout_s=180)
                    cluster.wait_linked(timeout_s=120)
                    points = trio.run(_search, cluster, per_batch, first, duration, args.p99_bound, steps)
                    ready = ready_times(cluster, list(cluster.members))
                finally:
                    cluster.stop()
                best = knee(points, args.p99_bound)
                configs.append({"nodes": n, "readings_per_batch": per_batch,
                                "ready_s_max": max(ready.values(), default=None),
                                "points": [asdict(p) for p in points],
                                "knee": asdict(best) if best else None,
                                "open_ended": open_ended(points, args.p99_bound)})
                _print_config(configs[-1], args.p99_bound)
    result = {"reference": asdict(reference), "duration_s": duration, "p99_bound_s": args.p99_bound,
              "configs": configs, "plot": str(plot(configs, args.plot))}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"  this machine, same run: Ed25519 {reference.ed25519_verifies_per_s:,.0f} verifies/s "
              f"(one core), fsync {reference.fsync_ms:.2f} ms; load average {os.getloadavg()[0]:.1f}")
        print(f"  plot: {result['plot']}")
    return 0


async def _search(cluster: Any, per_batch: int, first: float, duration: float, bound: float,
                  steps: int) -> Any:
    from carbonlab.bench.openloop import find_knee, offer

    members, feeds = list(cluster.members), cluster.feeds()
    points = await find_knee(cluster, feeds, members, per_batch, first, duration, bound, STEP, steps)
    rate = first
    while len(points) < MIN_POINTS:   # overloaded from the first rate: a curve needs points below it
        rate /= STEP
        points.insert(0, await offer(cluster, feeds, members, per_batch, rate, duration))
    return points


def _print_config(c: dict[str, Any], bound: float) -> None:
    print(f"n = {c['nodes']}, {c['readings_per_batch']} readings per batch "
          f"(slowest member serving {c['ready_s_max']} s after its process start):")
    for p in c["points"]:
        print(f"  offered {p['offered_readings_per_s']:8,.0f}  "
              f"committed {p['readings_per_s']:8,.0f} readings/s  "
              f"p50 {p['p50_s']:.3f} s  p99 {p['p99_s']:.3f} s  refused {p['refused']}  "
              f"(load average {p['load_average']:.1f})")
    from carbonlab.cli.bench_openloop import knee_said

    print(f"  knee at p99 < {bound} s: {knee_said(c, latency=False)}")


def plot(configs: list[dict[str, Any]], path: Path) -> Path:
    """Throughput against p50 (dashed) and p99 (solid), one panel per batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch_sizes = sorted({c["readings_per_batch"] for c in configs})
    fig, axes = plt.subplots(1, len(batch_sizes), figsize=(5 * len(batch_sizes), 4), squeeze=False)
    for ax, per_batch in zip(axes[0], batch_sizes, strict=True):
        for c in (c for c in configs if c["readings_per_batch"] == per_batch):
            xs = [p["readings_per_s"] for p in c["points"]]
            line = ax.plot(xs, [p["p99_s"] for p in c["points"]], marker="o", label=f"n = {c['nodes']} p99")
            ax.plot(xs, [p["p50_s"] for p in c["points"]], marker=".", linestyle="--",
                    color=line[0].get_color(), label=f"n = {c['nodes']} p50")
        ax.set_yscale("log")
        ax.set_title(f"{per_batch} reading{'s' if per_batch > 1 else ''} per batch")
        ax.set_xlabel("committed readings/s")
        ax.set_ylabel("latency, s")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
