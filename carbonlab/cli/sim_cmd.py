"""`carbonlab sim`: run the deterministic PBFT simulator for one seed or a range of seeds.

A failing seed prints its violations, the transcript of the run and the command that
replays it; the exit status is 1 when any seed fails. Every argument is bounded before anything
runs: `--nodes` 4..1000 (genesis's own limit), `--steps` 1..100,000, a range of at most
10,000,000 seeds (run lazily, a window at a time), `--workers` 0..256.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from carbonlab.node.sim.modes import MODES

if TYPE_CHECKING:   # the simulator loads only when it runs (`--help` stays fast)
    from carbonlab.node.sim.world import SimResult


def register(sub: Any) -> None:
    parser = sub.add_parser("sim", help="run the deterministic PBFT simulator",
                            description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seed", type=int, default=0, help="one seed (default 0)")
    which.add_argument("--seeds", metavar="A..B", help="every seed from A to B inclusive")
    parser.add_argument("--nodes", type=int, default=7, help="n = 3f + 1 members (default 7)")
    parser.add_argument("--faults", choices=MODES, default="mixed", help="fault mode (default mixed)")
    parser.add_argument("--steps", type=int, default=200,
                        help="ticks of 10 ms of fake time in the fault phase (default 200)")
    parser.add_argument("--transcript", action="store_true", help="print the transcript of every run")
    parser.add_argument("--json", action="store_true", help="one JSON object per seed")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes for a range of seeds (default: one per core); results "
                             "and their order do not depend on it")
    parser.set_defaults(func=run)


MAX_NODES = 1000            # genesis.n's own maximum (node/genesis.py)
MAX_STEPS = 100_000         # 1,000 s of fake time; the CI sweeps run 50-200
MAX_SEEDS = 10_000_000      # one run's range; a sweep of 10**12 seeds would never end
MAX_WORKERS = 256


def parse_seeds(text: str) -> range:
    from carbonlab.node.sim.faults import SimConfigError

    lo, sep, hi = text.partition("..")
    try:
        a, b = int(lo), int(hi)
    except ValueError:
        raise SimConfigError(f"--seeds: expected A..B with integers, got {text!r}") from None
    if not sep or b < a:
        raise SimConfigError(f"--seeds: expected A..B with A <= B, got {text!r}")
    if b - a + 1 > MAX_SEEDS:
        raise SimConfigError(f"--seeds: at most {MAX_SEEDS:,} seeds in one run, got {b - a + 1:,} "
                             "(split the range)")
    return range(a, b + 1)


def run(args: argparse.Namespace) -> int:
    from carbonlab.node.sim.faults import SimConfigError
    from carbonlab.node.sim.sweep import sweep

    if args.nodes < 4 or (args.nodes - 1) % 3 or args.nodes > MAX_NODES:
        raise SimConfigError(f"--nodes: must be 3f + 1 with f >= 1 (4, 7, 10, ...) and at most "
                             f"{MAX_NODES}, got {args.nodes}")
    if not 1 <= args.steps <= MAX_STEPS:
        raise SimConfigError(f"--steps: must be 1..{MAX_STEPS:,}, got {args.steps}")
    if not 0 <= args.workers <= MAX_WORKERS:
        raise SimConfigError(f"--workers: must be 0 (one per core) to {MAX_WORKERS}, got {args.workers}")
    seeds = parse_seeds(args.seeds) if args.seeds else range(args.seed, args.seed + 1)
    failed: list[int] = []
    started = time.perf_counter()
    for result in sweep(seeds, n=args.nodes, faults=args.faults, steps=args.steps,
                        workers=args.workers or None):
        _report(result, args, single=len(seeds) == 1)
        if not result.ok:
            failed.append(result.seed)
    if len(seeds) > 1:
        took = time.perf_counter() - started
        print(f"{len(seeds)} seeds, {len(failed)} failed, {took:.1f} s"
              + (f"; failing seeds: {' '.join(map(str, failed[:50]))}" if failed else ""))
    return 1 if failed else 0


def _report(result: SimResult, args: argparse.Namespace, *, single: bool) -> None:
    if args.json:
        print(json.dumps({"seed": result.seed, "ok": result.ok, "plan": result.plan,
                          "violations": result.violations, "stats": result.stats}))
    elif single or not result.ok:
        s = result.stats
        print(f"seed {result.seed}: {'ok' if result.ok else 'FAILED'}  {result.plan}\n"
              f"  height {s['height']} (fault phase {s['fault_phase_height']}), "
              f"{s['batches_accepted']} batches accepted, max view {s['max_view']}, "
              f"{s['messages']} messages ({s['dropped_by_network']} dropped), {s['fake_ms']} ms fake time")
    if not result.ok:
        for v in result.violations:
            print(f"  VIOLATION {v}")
    if args.transcript or not result.ok:
        for line in result.transcript:
            print(f"  | {line}")
    if not result.ok:
        print(f"  replay: {result.command()}", file=sys.stderr if args.json else sys.stdout)
