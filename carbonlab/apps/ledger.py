"""The planning and forecast inputs read from a ledger file, through the node's query module.

- `unit_points`: per unit, each interval's CO2 mass and gross MWh (the readings that carry a
  load; a meter without the load channel gives none), the input of `fit_curve`;
- `unit_limits`: capacity, minimum load, ramp and fuel of each unit that genesis's
  `companies` section gives them for (the topology's `companies:`);
- `hourly_records`: per unit and hour, the CO2 mass with the unit's company and plant, the
  input of the emission forecasts.

Both are the node's own query over its own file format (`carbonlab.node.query.open_source`),
so they count exactly what `carbonlab emissions query` shows. A member's API answers the same
query (`/v1/emissions/query`, `apps/chain.py`'s `ApiChain.query`): `points_from`,
`records_from` and `limits_from` turn either answer (and a genesis) into the same inputs.
"""

from __future__ import annotations

from pathlib import Path

from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.series import IntervalRecord
from carbonlab.apps.planning.units import IntervalPoint, UnitLimits
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet, co2e_kg
from carbonlab.node.query import EmissionsFilter, Gas, Level, Period, QueryResult, open_source


def _check(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"--ledger {path}", "no such ledger file")


def point_filter(company: str | None = None, since: int | None = None,
                 until: int | None = None) -> EmissionsFilter:
    """The query of `unit_points` (interval rows per unit; run with Period.INTERVAL, Level.UNIT)."""
    return EmissionsFilter(company=company, gases=(Gas.CO2, Gas.CH4, Gas.N2O), since=since, until=until)


def points_from(result: QueryResult, gwp: GwpSet | None = None) -> dict[str, list[IntervalPoint]]:
    """Per unit, (CO2 t, MWh, hours) per interval row that carries a load; with `gwp`, CO2e by
    that GWP-100 set instead (CH4 taken as fossil: the units are thermal plants)."""
    out: dict[str, list[IntervalPoint]] = {}
    for r in result.rows:
        if r.unit is None or r.co2_kg is None or r.gross_mwh is None:
            continue
        mass = r.co2_kg if gwp is None else co2e_kg(r.co2_kg, r.ch4_kg, r.n2o_kg, gwp)
        out.setdefault(r.unit, []).append(
            IntervalPoint(mass / 1000.0, r.gross_mwh, (r.period_end - r.period_start) / 3600.0)
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
    """`points_from` the ledger file's committed readings."""
    _check(path)
    with open_source(path) as source:
        # the whole ledger interval by interval: no limit on the rows (the API has one)
        result = source.query(point_filter(company, since, until), period=Period.INTERVAL,
                              level=Level.UNIT, max_rows=None)
    return points_from(result, gwp)


def record_filter(company: str | None = None, since: int | None = None,
                  until: int | None = None) -> EmissionsFilter:
    """The query of `hourly_records` (run with Period.HOUR, Level.UNIT)."""
    return EmissionsFilter(company=company, gases=(Gas.CO2,), since=since, until=until)


def records_from(result: QueryResult, where: str) -> list[IntervalRecord]:
    records = [
        IntervalRecord(r.period_start, r.company or "", r.plant or "", r.unit, r.co2_kg)
        for r in result.rows
        if r.unit is not None and r.co2_kg is not None
    ]
    if not records:
        raise InputError(where, "no CO2 readings for the filter")
    return records


def hourly_records(
    path: Path, *, company: str | None = None, since: int | None = None, until: int | None = None
) -> list[IntervalRecord]:
    _check(path)
    with open_source(path) as source:
        result = source.query(record_filter(company, since, until), period=Period.HOUR,
                              level=Level.UNIT, max_rows=None)
    return records_from(result, f"--ledger {path}")


def limits_from(genesis: Genesis, company: str | None = None) -> dict[str, UnitLimits]:
    """The limits genesis declares, for the units that have all three numbers."""
    out = {}
    for c in genesis.companies:
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


def unit_limits(path: Path, *, company: str | None = None) -> dict[str, UnitLimits]:
    """`limits_from` the ledger's copy of genesis."""
    _check(path)
    with open_source(path) as source:
        return limits_from(source.genesis, company)
