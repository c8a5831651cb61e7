"""The emissions page: by company, plant, unit and stack; CO2, CH4 and CO2e per period and
cumulative; measured versus substituted; anomalies; rejected batches with their reasons.

Data, all from the console's member: `GET /v1/emissions/query` (rows of the chosen level
and period; the page keeps the newest `SHOWN_ROWS` and a running cumulative per group over
everything the filter selects), `GET /v1/emissions/structure` (the selection's total CO2e and
its share by gas; the tree itself is the structure page's), `GET /v1/readings` (the anomalies among
the readings of the newest period shown) and `GET /v1/rejections` (newest first). CO2e is
computed with node's `co2e_kg` under the chosen GWP set. Each group links one level down,
and a stack or meter to the explorer's readings, from where a reading's proof is one click
(the drill-down from a plant's total to one verified reading).

Parameters (400 naming the one that is wrong): `level` (company, plant, unit, stack,
meter), `period` (interval, hour, day, month, year), `company`, `plant`, `unit`, `stack`,
`since`, `until` (as the node's filter reads them), `gwp` (AR5, AR6).

Test ids: `emissions-filters`, `emissions-rows` (rows `erow-<i>`), `emissions-chart`,
`emissions-total-co2e`, `anomalies`,
`rejections` (rows `rejection-<height>-<index>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbonlab.client.params import Scope, read_params
from carbonlab.fields import spec

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console

SHOWN_ROWS = 48
LEVELS = ("company", "plant", "unit", "stack", "meter")
PERIODS = ("interval", "hour", "day", "month", "year")
NEXT_LEVEL = {"company": "plant", "plant": "unit", "unit": "stack", "stack": "meter"}


@dataclass(frozen=True)
class EmissionsParams(Scope):
    level: str = spec("company", choices=LEVELS)
    period: str = spec("hour", choices=PERIODS)


@dataclass(frozen=True, slots=True)
class Row:
    group: str
    period_start: int
    co2_t: float | None
    ch4_t: float | None
    co2e_t: float
    cumulative_co2e_t: float
    readings: int
    substituted: int
    missing: int
    link: str           # one level down, or the explorer's readings of the group


def drill_link(level: str, name: str, params: EmissionsParams) -> str:
    from urllib.parse import urlencode

    scoped = {**params.filter(), level: name}
    scoped.pop("since", None)
    scoped.pop("until", None)
    if level in NEXT_LEVEL:   # a stack's meters next: the explorer selects readings by meter, not stack
        return "/emissions?" + urlencode({**scoped, "level": NEXT_LEVEL[level], "period": params.period})
    return "/explorer?" + urlencode({"meter": name})


async def view(console: Console, request: Request) -> dict[str, Any]:
    from carbonlab.node.gwp import GwpSet, co2e_kg

    p = read_params(EmissionsParams, request.query_params.multi_items())
    gwp = GwpSet(p.gwp)
    flt = p.filter()
    result = await console.api.emissions_query({**flt, "level": p.level, "period": p.period})
    structure = await console.api.emissions_structure({**flt, "gwp": p.gwp})
    running: dict[str, float] = {}
    rows: list[Row] = []
    for r in result.rows:
        group = getattr(r, p.level) or "(all)"
        co2e = co2e_kg(r.co2_kg or 0.0, r.ch4_kg, r.n2o_kg, gwp) / 1000
        running[group] = running.get(group, 0.0) + co2e
        rows.append(Row(group, r.period_start, _t(r.co2_kg), _t(r.ch4_kg), co2e, running[group],
                        r.readings, r.substituted, r.missing, drill_link(p.level, group, p)))
    newest = sorted(rows, key=lambda row: (row.period_start, row.group))[-SHOWN_ROWS:]
    per_period: dict[int, float] = {}
    for row in rows:
        per_period[row.period_start] = per_period.get(row.period_start, 0.0) + row.co2e_t
    periods = sorted(per_period)[-SHOWN_ROWS:]
    anomalies = []
    if newest:
        recent = await console.api.readings(**{k: v for k, v in flt.items() if k in ("company", "plant",
                                                                                   "unit")},
                                            since=newest[-1].period_start, limit=1000)
        anomalies = [r for r in recent.rows if r.get("anomalies")][:50]
    rejections = await console.api.rejections(limit=20)
    from carbonlab.client.svg import bars
    from carbonlab.client.timefmt import utc

    chart = bars([per_period[t] for t in periods], [utc(t) for t in periods],
                 f"CO2e per {p.period}, tonnes ({gwp.value})", "t CO2e", "emissions-chart")
    return {"params": p, "levels": LEVELS, "periods": PERIODS, "rows": list(reversed(newest)),
            "by_gas": structure.by_gas, "chart": chart,
            "anomalies": anomalies, "rejections": rejections.rows,
            "total_co2e_t": structure.root.co2e_kg / 1000}


def _t(kg: float | None) -> float | None:
    return None if kg is None else kg / 1000
