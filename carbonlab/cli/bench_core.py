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
import tempfile
from pathlib import Path
from typing import Any

from carbonlab.bench.options import add_profile_options
from carbonlab.errors import CarbonlabError


def register(sub: Any) -> None:
    parser = sub.add_parser("core", help="PBFT + contract + SQLite, n replicas in one process")
    parser.add_argument("--nodes", type=int, default=7, help="n = 3f + 1 replicas (default 7)")
    parser.add_argument("--gateways", type=int, default=200, help="gateways, one meter each (default 200)")
    parser.add_argument("--batches", type=int, default=1000, help="signed batches to commit (default 1000)")
    parser.add_argument("--readings", type=int, default=20, help="readings per batch (default 20)")
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
    kit = bench_kit(args.nodes, args.gateways)
    batches = [kit.next_batch(f"gw{1 + i % args.gateways}", args.readings) for i in range(args.batches)]
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-core-") as tmp:
        ref = Reference.measure(Path(tmp))
        with profiled(args.profile, "bench core", args.profile_out):
            core = run_core(kit, batches, args.readings, Path(tmp))
    if core.committed != args.batches * args.readings:
        raise CarbonlabError(f"bench core: only {core.committed} of {args.batches * args.readings} "
                             f"readings committed on every replica ({core.readings})")
    limit = ref.ed25519_verifies_per_s / args.nodes * args.readings
    result = {"nodes": args.nodes, "batches": args.batches, "readings_per_batch": args.readings,
              "blocks": core.blocks, "seconds": round(core.seconds, 3),
              "readings_per_s": round(core.readings_per_s, 1),
              "cpu_seconds": round(core.cpu_seconds, 3),
              "readings_per_cpu_s": round(core.readings_per_cpu_s, 1),
              "batches_per_s": round(args.batches / core.seconds, 1),
              "ed25519_verify_per_s": round(ref.ed25519_verifies_per_s, 1),
              "fsync_ms": round(ref.fsync_ms, 3),
              "ed25519_limit_readings_per_s": round(limit, 1),
              "ratio_to_ed25519_limit": round(core.readings_per_s / limit, 3)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bench core: n={args.nodes}, {args.batches} signed batches x {args.readings} readings, "
              f"{core.blocks} blocks, every replica with its own SQLite ledger (FULL sync)")
        print(f"  committed on all replicas: {result['readings_per_s']:,.0f} readings/s "
              f"({result['batches_per_s']:,.0f} batches/s, {core.seconds:.2f} s); "
              f"{result['readings_per_cpu_s']:,.0f} per CPU second of this process")
        print(f"  Ed25519 limit of this run (one core / {args.nodes} replicas x {args.readings} readings): "
              f"{limit:,.0f} readings/s; ratio {result['ratio_to_ed25519_limit']:.2f}")
        print(f"  {ref.line()}")
    return 0
