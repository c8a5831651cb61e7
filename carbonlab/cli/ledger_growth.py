"""`carbonlab ledger bench --growth 100k,1M,3M,10M`: one ledger grown through the real
commit path, and at each size bytes per reading, the step's commit rate, offline verify and
the query modules' times, then the ratio of the per-reading costs at the largest size to the
smallest (flat is 1.0). The measurement is `carbonlab.bench.growth`."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from carbonlab.bench.growth import StepFigures, default_cache, grow, parse_sizes
from carbonlab.bench.growthledger import code_key
from carbonlab.bench.reference import Reference

STACKS = 100
YEAR_HOURS = 8784      # 2024, a leap year


def run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.growth)
    cache = Path(args.cache_dir) if args.cache_dir else default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    ref = Reference.measure(cache)
    if not args.json:
        print(f"ledger bench --growth: {STACKS} stacks hourly, 20-reading batches, "
              f"{STACKS * 4} readings per block, synchronous=FULL; ledger "
              f"{cache / code_key(STACKS)}", flush=True)
        print(f"  {ref.line()}; load average {os.getloadavg()[0]:.1f}", flush=True)
        print(f"  {'readings':>11} {'B/reading':>9} {'commit r/s':>10} {'us/r CPU':>8} "
              f"{'verify s':>8} {'us/r CPU':>8} {'month ms':>8} {'year ms':>8} "
              f"{'proof ms':>8} {'tree ms':>8} {'load':>5}", flush=True)
    steps = grow(sizes, stacks=STACKS, cache=cache, fresh=args.fresh,
                 report=_quiet if args.json else _line)
    if args.json:
        print(json.dumps({"ed25519_verify_per_s": ref.ed25519_verifies_per_s,
                          "fsync_ms": ref.fsync_ms,
                          "steps": [{**s.to_json(), "bytes_per_reading": s.bytes_per_reading}
                                    for s in steps]}))
    else:
        _summary(steps)
    return 0 if all(s.verify_ok for s in steps) else 1


def _quiet(s: StepFigures) -> None:
    del s


def _line(s: StepFigures) -> None:
    q = s.queries
    mark = "  (figures from the cache: measured when this code grew it)" if s.cached else ""
    print(f"  {s.readings:>11,} {s.bytes_per_reading:>9.0f} "
          f"{1e6 / s.commit_us_per_reading:>10,.0f} {s.commit_cpu_us_per_reading:>8.1f} "
          f"{s.verify_s:>8.1f} {s.verify_cpu_us_per_reading:>8.1f} "
          f"{q.month_of_one_stack_s * 1000:>8.1f} {q.company_year_by_month_s * 1000:>8.1f} "
          f"{(q.proof_build_s + q.proof_check_s) * 1000:>8.1f} {q.structure_tree_s * 1000:>8.1f} "
          f"{s.load_average:>5.1f}{mark}", flush=True)
    if not s.verify_ok:
        print("  verify FAILED at this size", flush=True)


def _proof_s(s: StepFigures) -> float:
    return s.queries.proof_build_s + s.queries.proof_check_s


def _summary(steps: list[StepFigures]) -> None:
    print("  commit r/s: the step's readings / wall seconds inside Ledger.commit; us/r CPU: that "
          "process's CPU per reading; verify: whole ledger; month: one stack hourly; year: one "
          "company by month; proof: one reading built and checked; tree: structure of a year")
    if len(steps) < 2:
        return
    small, large = steps[0], steps[-1]
    ratios = {
        "bytes per reading": large.bytes_per_reading / small.bytes_per_reading,
        "commit CPU per reading": large.commit_cpu_us_per_reading / small.commit_cpu_us_per_reading,
        "verify CPU per reading": large.verify_cpu_us_per_reading / small.verify_cpu_us_per_reading,
        "proof of one reading": _proof_s(large) / _proof_s(small),
        "month of one stack": large.queries.month_of_one_stack_s / small.queries.month_of_one_stack_s,
    }
    print(f"  at {large.readings:,} against {small.readings:,} readings (flat is 1.00): "
          + "; ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    # the year's roll-up and tree sum what 2024 holds: compare sizes that hold all of it
    full = [s for s in steps if s.readings >= STACKS * YEAR_HOURS]
    if len(full) >= 2 and full[0] is not large:
        print(f"  year of 2024 at {large.readings:,} against {full[0].readings:,} (both hold the "
              f"whole year): company year "
              f"{large.queries.company_year_by_month_s / full[0].queries.company_year_by_month_s:.2f}; "
              f"structure tree {large.queries.structure_tree_s / full[0].queries.structure_tree_s:.2f}")
    big = sorted(large.table_bytes.items(), key=lambda kv: -kv[1])[:6]
    print(f"  bytes per reading by table at {large.readings:,} (dbstat): "
          + ", ".join(f"{name} {size / large.readings:.0f}" for name, size in big))
