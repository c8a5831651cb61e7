"""`carbonlab bench query`: the query and structure modules on a year of 100 stacks.

Builds (or takes from the cache, keyed by the node code's hash) a ledger of one year of
hourly readings of 100 stacks, 876,000 readings committed through `Ledger.commit` with
real signatures (`carbonlab.bench.queryledger`), then times, through `open_source` as the
application modules call it:

- a month of one stack, hour by hour;
- a yearly roll-up of one company by month;
- the full structure tree for the year (with the previous-year comparison);

each the best of `--repeat` runs, and beside the two roll-ups the same totals summed in
Python over the readings (fetched with one indexed SELECT), measured in the same run, with
the ratio. Also the file's bytes per reading.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("query", help="query and structure modules on a year of hourly "
                                          "readings of 100 stacks (876,000)")
    parser.add_argument("--stacks", type=int, default=100)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is printed)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the ledger even if cached")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_run)



def _run(args: argparse.Namespace) -> int:
    from carbonlab.cli.bench_query_run import run

    return run(args)
