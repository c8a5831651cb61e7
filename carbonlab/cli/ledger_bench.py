"""`carbonlab ledger bench`: the contract, commits with FULL sync and offline verify, each with
the figure of the code before (`--baseline REF`, measured in the same run), this machine's
limit (from its Ed25519 verify rate and fsync cost, measured in the same run) and the target
of issue 17. The measurement itself is `carbonlab.bench.ledgerbench`."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from carbonlab.bench.options import add_profile_options
from carbonlab.errors import CarbonlabError

TARGETS = {"contract": 40_000, "commit": 30_000, "verify": 30_000}   # readings/s, issue 17
QUORUM = 5   # commit-certificate signatures per block (n = 7)


def add_parser(cmds: Any) -> None:
    bench = cmds.add_parser("bench", help="measure the contract, commits and verification on "
                                          "a fresh ledger in a temporary directory")
    bench.add_argument("--blocks", type=int, default=100)
    bench.add_argument("--batches", type=int, default=16, help="batches per block (one per gateway)")
    bench.add_argument("--readings", type=int, default=20, help="readings per batch")
    bench.add_argument("--baseline", default="main", metavar="REF",
                       help="git ref whose code gives the before-figure, measured in the same run "
                            "(default main; 'none' to skip)")
    bench.add_argument("--rounds", type=int, default=1,
                       help="measure this code and the baseline alternately this many times each and "
                            "keep the best of each phase (load that comes and goes then hits both "
                            "sides alike; default 1)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--growth", metavar="SIZES", help="grow one cached ledger to each size "
                       "(e.g. 100k,1M,3M,10M readings) and measure it there: docs/performance.md")
    bench.add_argument("--fresh", action="store_true", help="--growth: start the ledger over")
    bench.add_argument("--cache-dir", metavar="DIR",
                       help="--growth: where grown ledgers live (default ~/.cache/carbonlab/growth)")
    add_profile_options(bench)
    bench.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.growth:
        from carbonlab.cli.ledger_growth import run as run_growth

        return run_growth(args)
    if args.fresh or args.cache_dir:
        raise CarbonlabError("--fresh and --cache-dir go with --growth")
    from carbonlab.bench import baseline
    from carbonlab.bench.ledgerbench import LedgerFigures, Workload, best_of, measure
    from carbonlab.bench.profiling import profiled
    from carbonlab.bench.reference import Reference

    for name in ("blocks", "batches", "readings"):
        if not 1 <= getattr(args, name) <= 100_000:
            raise CarbonlabError(f"--{name}: {getattr(args, name)} is not in 1..100000")
    if not 1 <= args.rounds <= 20:
        raise CarbonlabError(f"--rounds: {args.rounds} is not in 1..20")
    work = Workload(args.blocks, args.batches, args.readings)
    commit = None if args.baseline == "none" else baseline.resolve(args.baseline)
    before_note = "not measured (--baseline none)" if args.baseline == "none" else \
        f"not measured: no git checkout with {args.baseline!r} here" if commit is None else \
        f"{args.baseline} at {commit[:10]}"
    nows: list[LedgerFigures] = []
    befores: list[LedgerFigures] = []
    with tempfile.TemporaryDirectory(prefix="carbonlab-ledger-bench-") as tmp:
        ref = Reference.measure(Path(tmp))
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(dir=tmp) as sub, \
                    profiled(args.profile if not nows else None, "ledger bench", args.profile_out):
                nows.append(measure(work, Path(sub)))
            if commit is not None:
                befores.append(LedgerFigures(**baseline.run_at(
                    commit, "carbonlab.bench.ledgerbench",
                    [str(args.blocks), str(args.batches), str(args.readings)])))
    now = best_of(nows)
    before = best_of(befores) if befores else None
    if args.rounds > 1:
        before_note += f"; best of {args.rounds} alternating rounds each"
    per_block = args.batches * args.readings
    ed = ref.ed25519_verifies_per_s
    fsyncs = 1000 / ref.fsync_ms * per_block                          # one fsync per block
    limits = {"contract": ed * args.readings,                         # one verify per batch
              "precheck": ed * args.readings,                         # the same, at the home member
              "commit": fsyncs,                  # the API's pre-check verified the signatures
              "commit_cold": 1 / (1 / fsyncs + 1 / (ed * args.readings)),   # it verifies them too
              "verify": ed / (args.batches + QUORUM) * per_block}    # batches + certificate
    rows = []
    for name, title in (("contract", "contract (execute)"), ("precheck", "API pre-check (binary)"),
                        ("commit", "ledger commit (FULL sync)"),
                        ("commit_cold", "  first met in the block"), ("verify", "offline verify")):
        seconds, cpu_s = getattr(now, f"{name}_s"), getattr(now, f"{name}_cpu_s")
        if seconds is None or cpu_s is None:
            continue
        rate, cpu = work.total / seconds, work.total / cpu_s
        old_s = None if before is None else getattr(before, f"{name}_s")
        old_cpu_s = None if before is None else getattr(before, f"{name}_cpu_s")
        old = None if old_s is None else work.total / old_s
        old_cpu = None if old_cpu_s is None else work.total / old_cpu_s
        rows.append({"phase": name, "title": title, "readings_per_s": round(rate, 1),
                     "readings_per_cpu_s": round(cpu, 1),
                     "before_readings_per_s": None if old is None else round(old, 1),
                     "before_readings_per_cpu_s": None if old_cpu is None else round(old_cpu, 1),
                     "speedup": None if old_cpu is None else round(cpu / old_cpu, 2),
                     "limit_readings_per_s": round(limits[name], 1),
                     "ratio_to_limit": round(rate / limits[name], 3), "target": TARGETS.get(name)})
    result = {"blocks": args.blocks, "batches_per_block": args.batches,
              "readings_per_batch": args.readings, "readings": work.total, "before": before_note,
              "ed25519_verify_per_s": round(ed, 1), "fsync_ms": round(ref.fsync_ms, 3),
              "phases": rows, "verify_report": now.summary}
    if args.json:
        print(json.dumps(result))
    else:
        _print(result, ref.line())
    return 0 if now.verify_ok else 1


def _print(r: dict[str, Any], reference: str) -> None:
    print(f"ledger bench: {r['blocks']} blocks x {r['batches_per_block']} batches x "
          f"{r['readings_per_batch']} readings = {r['readings']:,} readings, one core; "
          f"before: {r['before']}")
    print(f"  {'readings/s':>37} {'per CPU s':>10} {'before':>16} {'speedup':>8} {'limit':>9} "
          f"{'of limit':>8} {'target':>7}")
    for p in r["phases"]:
        old = "-" if p["before_readings_per_s"] is None else \
            f"{p['before_readings_per_s']:,.0f}/{p['before_readings_per_cpu_s']:,.0f}"
        speed = "-" if p["speedup"] is None else f"x{p['speedup']:.2f}"
        print(f"  {p['title']:<26} {p['readings_per_s']:>10,.0f} {p['readings_per_cpu_s']:>10,.0f} "
              f"{old:>16} {speed:>8} {p['limit_readings_per_s']:>9,.0f} {p['ratio_to_limit']:>8.2f} "
              f"{'-' if p['target'] is None else format(p['target'], ','):>7}")
    print("  before: wall/CPU readings/s of the same workload on the baseline's code; speedup: per "
          "CPU second (the steadier figure on a shared machine); of limit: wall rate / limit")
    print("  API pre-check: the binary route's work per batch before ordering it at its home member "
          "(decode the body, verify the signature, the stateless checks; the decoded batch remembered "
          "by digest)")
    print("  commit: the member whose API pre-checked the batches (signatures verified and batches "
          "decoded and checked statelessly once, remembered; the commit runs the checks that read the "
          "state, rows, SQLite); first met in the block: every other member, which decodes, verifies "
          "and checks each batch in full")
    print(f"  limits: contract = Ed25519 rate x readings per batch; commit = fsync rate x readings "
          f"per block; first met = both; verify = Ed25519 rate / (batches + {QUORUM} certificate "
          f"signatures) x readings per block")
    print(f"  {reference}")
    print(f"  verify: {r['verify_report']}")
