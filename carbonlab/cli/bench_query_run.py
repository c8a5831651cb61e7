"""The work of `carbonlab bench query` (`bench_query` registers it; this module holds the
imports the benchmark needs, so `--help` does not load them)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from carbonlab.bench.queryledger import YEAR0, built
from carbonlab.errors import CarbonlabError
from carbonlab.node.gwp import GwpSet
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from carbonlab.node.query.rollup import bucket_end

YEAR_END = 1_735_689_600     # 2025-01-01 00:00 UTC
MARCH, APRIL = 1_709_251_200, 1_711_929_600


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _python_company_months(path: str, meters: list[str]) -> dict[int, float]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sums: dict[int, float] = {}
        month = YEAR0
        ends = []
        while month < YEAR_END:
            ends.append(month)
            month = bucket_end(Period.MONTH, month, 3600)
        ends.append(YEAR_END)
        marks = ", ".join("?" * len(meters))
        for start, kg in db.execute(f"SELECT interval_start, co2_kg FROM readings WHERE meter_id IN "
                                    f"({marks}) AND interval_start >= ? AND interval_start < ?",
                                    (*meters, YEAR0, YEAR_END)):
            m = max(i for i in range(len(ends) - 1) if ends[i] <= start)
            sums[ends[m]] = sums.get(ends[m], 0.0) + kg
        return sums
    finally:
        db.close()


def _python_per_meter(path: str) -> dict[str, float]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sums: dict[str, float] = {}
        for meter, kg in db.execute("SELECT meter_id, co2_kg FROM readings WHERE interval_start >= ? "
                                    "AND interval_start < ?", (YEAR0, YEAR_END)):
            sums[meter] = sums.get(meter, 0.0) + kg
        return sums
    finally:
        db.close()


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.stacks <= 1000 or not 1 <= args.hours <= 8784:
        raise CarbonlabError("--stacks must be in 1..1000 and --hours in 1..8784")
    if not 1 <= args.repeat <= 100:
        raise CarbonlabError("--repeat must be in 1..100")
    b = built(args.stacks, args.hours, fresh=args.fresh)
    path = str(b.path)
    company = b.genesis.meters[0].company
    company_meters = [m.id for m in b.genesis.meters if m.company == company]
    stack = b.genesis.meters[0].id
    with open_source(b.path) as src:
        month_s, month = _best(lambda: src.query(EmissionsFilter(meter=stack, since=MARCH, until=APRIL),
                                                 period=Period.HOUR, level=Level.METER), args.repeat)
        yearly_s, yearly = _best(lambda: src.query(EmissionsFilter(company=company, since=YEAR0,
                                                                   until=YEAR_END),
                                                   period=Period.MONTH, level=Level.COMPANY),
                                 args.repeat)
        tree_s, tree = _best(lambda: src.structure(EmissionsFilter(since=YEAR0, until=YEAR_END),
                                                   GwpSet.AR5), args.repeat)
    py_year_s, py_year = _best(lambda: _python_company_months(path, company_meters), args.repeat)
    py_tree_s, py_tree = _best(lambda: _python_per_meter(path), args.repeat)
    # the same answers, or the timing means nothing
    for row in yearly.rows:
        if abs((row.co2_kg or 0.0) - py_year.get(row.period_start, 0.0)) > 1e-6 * (row.co2_kg or 1.0):
            raise CarbonlabError(f"roll-up and Python sum differ for month {row.period_start}")
    tree_kg = tree.root.totals.co2_kg or 0.0
    if abs(tree_kg - sum(py_tree.values())) > 1e-6 * max(tree_kg, 1.0):
        raise CarbonlabError("structure total and Python sum differ")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    finally:
        db.close()
    out = {
        "readings": b.readings, "stacks": args.stacks, "cache_key": b.cache_key,
        "build_s": b.build_s, "build_readings_per_s": None if not b.build_s else b.readings / b.build_s,
        "month_of_one_stack_s": month_s, "month_rows": len(month.rows),
        "company_year_by_month_s": yearly_s, "company_year_python_s": py_year_s,
        "company_year_ratio": py_year_s / yearly_s,
        "structure_tree_s": tree_s, "structure_python_s": py_tree_s,
        "structure_ratio": py_tree_s / tree_s,
        "bytes_per_reading": page_size * pages / b.readings,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    built_text = "taken from the cache (built by this code before)" if b.build_s is None else \
        f"built in {b.build_s:.0f} s ({out['build_readings_per_s']:.0f} readings/s: contract, " \
        "signatures, SQLite)"
    print(f"ledger: {b.readings} readings of {args.stacks} stacks, {built_text}; key {b.cache_key}")
    print(f"month of one stack, hourly ({len(month.rows)} rows)   {month_s * 1000:8.1f} ms")
    print(f"company year by month ({len(yearly.rows)} rows)          {yearly_s * 1000:8.1f} ms   "
          f"Python sum over the readings {py_year_s * 1000:8.1f} ms   ratio {out['company_year_ratio']:.0f}x")
    print(f"structure tree, year vs previous year         {tree_s * 1000:8.1f} ms   "
          f"Python sum over the readings {py_tree_s * 1000:8.1f} ms   ratio {out['structure_ratio']:.0f}x")
    print(f"bytes per reading (whole file: blocks, raw batches, readings, indexes, day table) "
          f"{out['bytes_per_reading']:.0f}")
    return 0
