"""`carbonlab bench report`: build and verify one company-year's report on 20 stacks.

The ledger is the query benchmark's (`carbonlab.bench.queryledger`: real gateway and member
signatures, committed through `Ledger.commit`, cached keyed by the node code's hash) with 20
stacks, all of one company: a year of hourly readings, 175,200. Times `report build` (the
query, the three files and the bundle) and `report verify` (certificates, proofs, every
figure recomputed from the proven readings) and prints the bundle's size. Targets: each
under 30 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="report build and offline verify on a company-year of 20 "
                                           "stacks (175,200 hourly readings)")
    parser.add_argument("--stacks", type=int, default=20)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--template", default="cn-power", choices=("cn-power", "eu-mrr", "ghg-scope1"))
    parser.add_argument("--fresh", action="store_true", help="rebuild the ledger even if cached")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from carbonlab.apps.report.build import build
    from carbonlab.apps.report.model import Template
    from carbonlab.apps.report.sources import LedgerFile
    from carbonlab.apps.report.verify import verify
    from carbonlab.bench.queryledger import YEAR0, built
    from carbonlab.node.gwp import GwpSet

    if not 1 <= args.stacks <= 25 or not 1 <= args.hours <= 8784:
        raise CarbonlabError("--stacks must be in 1..25 (one company) and --hours in 1..8784")
    t0 = time.perf_counter()
    ledger = built(args.stacks, args.hours, fresh=args.fresh)
    ledger_s = time.perf_counter() - t0
    company = ledger.genesis.meters[0].company
    year = time.gmtime(YEAR0).tm_year
    work = Path(tempfile.mkdtemp(prefix="carbonlab-bench-report."))
    try:
        out = work / "report"
        t0 = time.perf_counter()
        source = LedgerFile(ledger.path)
        try:
            done = build(source, company=company, year=year, template=Template(args.template),
                         gwp=GwpSet.AR5, out=out)
        finally:
            source.close()
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = verify(out, ledger.genesis)
        verify_s = time.perf_counter() - t0
        if not res.ok:
            raise CarbonlabError(f"the bench's own report does not verify: {res.problems[0]}")
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = {"stacks": args.stacks, "readings": done.readings, "template": args.template,
               "ledger_s": round(ledger_s, 2), "ledger_cached": ledger.build_s is None,
               "build_s": round(build_s, 2), "verify_s": round(verify_s, 2),
               "bundle_bytes": done.bundle_bytes, "files": sizes, "verified_readings": res.readings,
               "verified_figures": res.figures, "target_s": 30}
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"report bench: {args.stacks} stacks, {done.readings:,} readings, template {args.template}"
          f" (ledger {'from cache' if ledger.build_s is None else f'built in {ledger_s:.1f} s'})")
    print(f"  build  {build_s:6.2f} s   (target < 30 s)")
    print(f"  verify {verify_s:6.2f} s   (target < 30 s): {res.summary()}")
    print(f"  bundle {done.bundle_bytes:,} bytes: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
    return 0
