"""How `carbonlab emissions` prints results on a terminal (tables); JSON and CSV come from the
query package (`to_json`, `campd.write_csv`)."""

from __future__ import annotations

import datetime as dt

from carbonlab.node.query.rollup import QueryResult
from carbonlab.node.query.structure import StructureNode, StructureResult


def _when(t: int | None) -> str:
    return "-" if t is None else dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _t(kg: float | None) -> str:
    return "-" if kg is None else f"{kg / 1000:.3f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def query_table(result: QueryResult) -> str:
    head = ("period start (UTC)", "group", "CO2 t", "CH4 t", "N2O t", "MWh", "readings",
            "substituted", "missing")
    lines = [head]
    for r in result.rows:
        group = "/".join(x for x in (r.company, r.plant, r.unit, r.stack, r.meter) if x) or "all"
        lines.append((_when(r.period_start), group, _t(r.co2_kg), _t(r.ch4_kg), _t(r.n2o_kg),
                      "-" if r.gross_mwh is None else f"{r.gross_mwh:.1f}", str(r.readings),
                      _pct(r.substituted_share), _pct(r.missing_share)))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(row, widths, strict=True))) for row in lines]
    out.append(f"{len(result.rows)} rows, period {result.period.value}, level "
               f"{result.level.value}; substituted: share of readings, missing: share of expected "
               f"{result.interval_s} s intervals without a reading")
    return "\n".join(out) + "\n"


def structure_table(result: StructureResult) -> str:
    head = ("", "CO2 t", "CH4 t", "N2O t", f"CO2e t ({result.gwp.value})", "share", "t CO2/MWh",
            "measured", "change")
    lines = [head]

    def walk(node: StructureNode, depth: int) -> None:
        t = node.totals
        lines.append(("  " * depth + f"{node.level} {node.name}", _t(t.co2_kg), _t(t.ch4_kg),
                      _t(t.n2o_kg), f"{node.co2e_kg / 1000:.3f}", _pct(node.share),
                      "-" if node.intensity_t_per_mwh is None else f"{node.intensity_t_per_mwh:.3f}",
                      _pct(node.measured_share),
                      "-" if node.change is None else f"{100 * node.change:+.1f}%"))
        for child in node.children:
            walk(child, depth + 1)

    walk(result.root, 0)
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(row, widths, strict=True))) for row in lines]
    out.append("by gas: " + ", ".join(f"{g.gas.value} {g.co2e_t:.3f} t CO2e ({_pct(g.share)})"
                                       for g in result.by_gas))
    out.append(f"period {_when(result.since)} .. {_when(result.until)}; change against "
               f"{_when(result.previous_since)} .. {_when(result.since)}")
    return "\n".join(out) + "\n"
