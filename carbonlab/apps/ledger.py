"""The planning and forecast inputs read from a ledger file, through the node's query module.

- `unit_points`: per unit, each interval's CO2 mass and gross MWh (the readings that carry a
  load; a meter without the load channel gives none), the input of `fit_curve`;
- `unit_limits`: capacity, minimum load, ramp and fuel of each unit that genesis's
  `companies` section gives them for (the topology's `companies:`);
- `hourly_records`: per unit and hour, the CO2 mass with the unit's company and plant, the
  input of the emission forecasts.

Both are the node's own query over its own file format (`carbonlab.node.query.open_source`),
so they count exactly what `carbonlab emissions query` shows. The row converters
(`points_from_rows`, `records_from_rows`, `declared_limits`) are public so that a caller
holding the same query's answer from a member's API (the client's backend) counts the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.series import IntervalRecord
from carbonlab.apps.planning.units import IntervalPoint, UnitLimits
from carbonlab.node.gwp import GwpSet, co2e_kg
from carbonlab.node.organisation import Company
from carbonlab.node.query import EmissionsFilter, Gas, Level, Period, RollupRow, open_source

POINT_GASES = (Gas.CO2, Gas.CH4, Gas.N2O)     # what `points_from_rows` reads of each row


def _check(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"--ledger {path}", "no such ledger file")


def points_from_rows(rows: Iterable[RollupRow], gwp: GwpSet | None = None) -> dict[str, list[IntervalPoint]]:
    """Per unit, (CO2 t, MWh, hours) of each unit-level interval row that carries a load; with
    `gwp`, CO2e by that GWP-100 set instead (CH4 taken as fossil: the units are thermal plants)."""
    out: dict[str, list[IntervalPoint]] = {}
    for r in rows:
        if r.unit is None or r.co2_kg is None or r.gross_mwh is None:
            continue
        mass = r.co2_kg if gwp is None else co2e_kg(r.co2_kg, r.ch4_kg, r.n2o_kg, gwp)
        out.setdefault(r.unit, []).append(
            IntervalPoint(mass / 1000.0, r.gross_mwh, (r.period_end - r.period_start) / 3600.0)
        )
    return out


def records_from_rows(rows: Iterable[RollupRow]) -> list[IntervalRecord]:
    """The unit-level hourly rows with a CO2 mass, as the forecasts' records."""
    return [
        IntervalRecord(r.period_start, r.company or "", r.plant or "", r.unit, r.co2_kg)
        for r in rows
        if r.unit is not None and r.co2_kg is not None
    ]


def declared_limits(companies: Iterable[Company], company: str | None = None) -> dict[str, UnitLimits]:
    """The limits genesis declares, for the units that have all three numbers."""
    out = {}
    for c in companies:
        if company is not None and c.id != company:
            continue
        for plant in c.plants:
            for u in plant.units:
                if u.capacity_mw is None or u.min_mw is None or u.ramp_mw_per_h is None:
                    continue
                out[u.id] = UnitLimits(
                    u.id,
                    u.capacity_mw,
                    u.min_mw,
                    u.ramp_mw_per_h,
                    str(u.fuel) if u.fuel is not None else "other",
                )
    return out


def unit_points(
    path: Path,
    *,
    company: str | None = None,
    since: int | None = None,
    until: int | None = None,
    gwp: GwpSet | None = None,
) -> dict[str, list[IntervalPoint]]:
    """Per unit, (CO2 t, MWh, hours) per interval; with `gwp`, CO2e by that GWP-100 set instead."""
    _check(path)
    flt = EmissionsFilter(company=company, gases=POINT_GASES, since=since, until=until)
    with open_source(path) as source:
        # the whole ledger interval by interval: no limit on the rows (the API has one)
        rows = source.query(flt, period=Period.INTERVAL, level=Level.UNIT, max_rows=None).rows
    return points_from_rows(rows, gwp)


def hourly_records(
    path: Path, *, company: str | None = None, since: int | None = None, until: int | None = None
) -> list[IntervalRecord]:
    _check(path)
    flt = EmissionsFilter(company=company, gases=(Gas.CO2,), since=since, until=until)
    with open_source(path) as source:
        rows = source.query(flt, period=Period.HOUR, level=Level.UNIT, max_rows=None).rows
    records = records_from_rows(rows)
    if not records:
        raise InputError(f"--ledger {path}", "no CO2 readings for the filter")
    return records


def unit_limits(path: Path, *, company: str | None = None) -> dict[str, UnitLimits]:
    """The limits genesis declares, for the units that have all three numbers."""
    _check(path)
    with open_source(path) as source:
        companies = source.genesis.companies
    return declared_limits(companies, company)
