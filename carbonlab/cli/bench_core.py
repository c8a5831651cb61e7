"""`carbonlab bench core --nodes 7`: the consensus core's ceiling, with no network.

N replicas run in one process (`carbonlab.bench.core`); each has its own real SQLite
ledger, and readings arrive in gateway batches signed beforehand with real keys. Printed:
readings per second committed on every replica (contract, hashing, signatures and SQLite
included), this machine's Ed25519 verify rate and fsync cost measured in the same run, and
the run's ratio to its Ed25519 ceiling (one core's verify rate / n x readings per batch:
all replicas share this process's core, each verifies every batch once).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.bench.options import add_profile_options
from carbonlab.errors import CarbonlabError

if TYPE_CHECKING:
    from carbonlab.bench.core import CoreResult
    from carbonlab.bench.reference import Reference


def register(sub: Any) -> None:
    parser = sub.add_parser("core", help="PBFT + contract + SQLite, n replicas in one process")
    parser.add_argument("--nodes", type=int, default=7, help="n = 3f + 1 replicas (default 7)")
    parser.add_argument("--gateways", type=int, default=200, help="gateways, one meter each (default 200)")
    parser.add_argument("--batches", type=int, default=1000, help="signed batches to commit (default 1000)")
    parser.add_argument("--readings", type=int, default=20, help="readings per batch (default 20)")
    parser.add_argument("--workers", type=int, default=0,
                        help="also run the replicas spread over this many processes (one core each, "
                             "as members on their own machines), printed beside the one-process "
                             "figure (default 0: one process only)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_profile_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from carbonlab.bench.core import bench_kit, run_core
    from carbonlab.bench.profiling import profiled
    from carbonlab.bench.reference import Reference

    if args.nodes < 4 or (args.nodes - 1) % 3:
        raise CarbonlabError(f"--nodes: must be 3f + 1 with f >= 1 (4, 7, 10, ...), got {args.nodes}")
    for name in ("gateways", "batches", "readings"):
        if getattr(args, name) < 1:
            raise CarbonlabError(f"--{name}: must be at least 1, got {getattr(args, name)}")
    if args.workers != 0 and not 2 <= args.workers <= args.nodes:
        raise CarbonlabError(f"--workers: 0 (one process) or 2..{args.nodes} (--nodes), "
                             f"got {args.workers}")
    kit = bench_kit(args.nodes, args.gateways)
    batches = [kit.next_batch(f"gw{1 + i % args.gateways}", args.readings) for i in range(args.batches)]
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-core-") as tmp:
        ref = Reference.measure(Path(tmp))
        with profiled(args.profile, "bench core", args.profile_out):
            core = run_core(kit, batches, args.readings, Path(tmp))
    if core.committed != args.batches * args.readings:
        raise CarbonlabError(f"bench core: only {core.committed} of {args.batches * args.readings} "
                             f"readings committed on every replica ({core.readings})")
    spread = None
    if args.workers:
        from carbonlab.bench.core_workers import run_core_workers

        with tempfile.TemporaryDirectory(prefix="carbonlab-bench-core-workers-") as tmp:
            spread = run_core_workers(args.nodes, args.gateways, batches, args.readings, Path(tmp),
                                      args.workers)
        if spread.committed != args.batches * args.readings:
            raise CarbonlabError(f"bench core --workers: only {spread.committed} of "
                                 f"{args.batches * args.readings} readings committed on every "
                                 f"replica ({spread.readings})")
    result = _figures(args, ref, core, 1)
    if spread is not None:
        result["workers"] = _figures(args, ref, spread, args.workers)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"bench core: n={args.nodes}, {args.batches} signed batches x {args.readings} readings, "
          f"{core.blocks} blocks, every replica with its own SQLite ledger (FULL sync)")
    _print(args, result, "one process (all replicas on one core)")
    if spread is not None:
        _print(args, result["workers"], f"{args.workers} worker processes (replicas spread, "
                                        f"one core each at most)")
    print(f"  target (issue 17): 12,000 readings/s; on one core that leaves "
          f"{1e6 / 12_000 / args.nodes:.1f} us of CPU per reading per replica, of which Ed25519 "
          f"(one verification per batch) takes {1e6 / ref.ed25519_verifies_per_s / args.readings:.1f}")
    print(f"  {ref.line()}; load average {' '.join(f'{x:.2f}' for x in result['load_average'])}")
    return 0


def _figures(args: argparse.Namespace, ref: Reference, core: CoreResult, cores: int) -> dict[str, Any]:
    """One run's figures; its Ed25519 limit is `cores` x one core's verify rate / n x readings
    per batch (each replica verifies each batch once)."""
    limit = cores * ref.ed25519_verifies_per_s / args.nodes * args.readings
    return {"nodes": args.nodes, "batches": args.batches, "readings_per_batch": args.readings,
            "processes": cores, "blocks": core.blocks, "seconds": round(core.seconds, 3),
            "readings_per_s": round(core.readings_per_s, 1),
            "cpu_seconds": round(core.cpu_seconds, 3),
            "readings_per_cpu_s": round(core.readings_per_cpu_s, 1),
            "cpu_us_per_reading_per_replica": round(1e6 / core.readings_per_cpu_s / args.nodes, 2),
            "batches_per_s": round(args.batches / core.seconds, 1),
            "ed25519_verify_per_s": round(ref.ed25519_verifies_per_s, 1),
            "fsync_ms": round(ref.fsync_ms, 3),
            "ed25519_limit_readings_per_s": round(limit, 1),
            "ratio_to_ed25519_limit": round(core.readings_per_s / limit, 3)}


def _print(args: argparse.Namespace, r: dict[str, Any], what: str) -> None:
    cores = "one core" if r["processes"] == 1 else f"{r['processes']} cores"
    print(f"  {what}: {r['readings_per_s']:,.0f} readings/s committed on all replicas "
          f"({r['batches_per_s']:,.0f} batches/s, {r['seconds']:.2f} s); "
          f"{r['readings_per_cpu_s']:,.0f} per CPU second "
          f"({r['cpu_us_per_reading_per_replica']:.1f} us per reading per replica)")
    print(f"    Ed25519 limit ({cores} / {args.nodes} replicas x {args.readings} readings): "
          f"{r['ed25519_limit_readings_per_s']:,.0f} readings/s; ratio {r['ratio_to_ed25519_limit']:.2f}")
