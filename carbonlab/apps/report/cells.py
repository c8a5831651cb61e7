"""The meter-month cells a report's figures are summed from, two independent ways.

`from_query` takes them from the query module (`carbonlab.node.query`), as the node answers:
one roll-up of the company's meters by meter and month over the year. `from_readings` sums
them again from readings in hand (the verifier's proven readings), with the query module's
definitions (see `carbonlab.node.query.rollup`): a meter is expected to report every interval
of the year, missing = expected - intervals with a reading (never below 0), a gas no reading
carries is None.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from itertools import pairwise
from typing import NamedTuple, Protocol

from carbonlab.apps.report.model import Cell
from carbonlab.node.query import EmissionsFilter, Level, Period, QueryResult
from carbonlab.node.query.rollup import add_optional, intervals_in


def year_bounds(year: int) -> tuple[int, int]:
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp()), int(end.timestamp())


def month_starts(year: int) -> list[int]:
    return [int(dt.datetime(year, m, 1, tzinfo=dt.UTC).timestamp()) for m in range(1, 13)] + \
        [year_bounds(year)[1]]


def month_label(start: int) -> str:
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m")


class Summed(Protocol):
    """What a cell sums of a reading (a `Reading` or a `Proven`)."""

    @property
    def meter_id(self) -> str: ...
    @property
    def interval_start(self) -> int: ...
    @property
    def co2_kg(self) -> float: ...
    @property
    def ch4_kg(self) -> float | None: ...
    @property
    def n2o_kg(self) -> float | None: ...
    @property
    def gross_mwh(self) -> float | None: ...
    @property
    def heat_input_gj(self) -> float | None: ...
    @property
    def substituted(self) -> bool: ...


class Proven(NamedTuple):
    """A proven reading's identity and summed values: what a checking process sends back."""

    meter_id: str
    seq: int
    interval_start: int
    co2_kg: float
    ch4_kg: float | None
    n2o_kg: float | None
    gross_mwh: float | None
    heat_input_gj: float | None
    substituted: bool


def report_filter(company: str, year: int) -> EmissionsFilter:
    since, until = year_bounds(year)
    return EmissionsFilter(company=company, since=since, until=until)


def from_query(result: QueryResult) -> tuple[Cell, ...]:
    if result.level is not Level.METER or result.period is not Period.MONTH:
        raise ValueError("report cells need a meter-by-month query")
    return tuple(sorted((Cell(r.meter or "", r.period_start, r.co2_kg, r.ch4_kg, r.n2o_kg, r.gross_mwh,
                              r.heat_input_gj, r.readings, r.substituted, r.expected, r.missing)
                         for r in result.rows), key=lambda c: (c.meter, c.month_start)))


def from_readings(readings: Iterable[Summed], meters: Iterable[str], year: int,
                  step: int) -> tuple[Cell, ...]:
    since, until = year_bounds(year)
    months = month_starts(year)
    sums: dict[tuple[str, int], list[float | None]] = {}
    counts: dict[tuple[str, int], list[int]] = {}
    for r in readings:
        if not since <= r.interval_start < until:
            continue
        key = (r.meter_id, months[bisect_right(months, r.interval_start) - 1])
        s = sums.setdefault(key, [None] * 5)
        for i, v in enumerate((r.co2_kg, r.ch4_kg, r.n2o_kg, r.gross_mwh, r.heat_input_gj)):
            s[i] = add_optional(s[i], v)
        c = counts.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += int(r.substituted)
    out = []
    for meter in sorted(set(meters)):
        for lo, hi in pairwise(months):
            expected = intervals_in(lo, hi, step)
            s = sums.get((meter, lo), [None] * 5)
            n, sub = counts.get((meter, lo), [0, 0])
            out.append(Cell(meter, lo, s[0], s[1], s[2], s[3], s[4], n, sub, expected,
                            max(0, expected - n)))
    return tuple(out)
