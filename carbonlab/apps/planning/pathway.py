"""A multi-year reduction pathway under a declining cap, as a mixed-integer programme.

Theory of operation. Per unit u and year y: the energy generated g[u,y] (MWh), a binary
`retired[u,y]` and a binary `retrofitted[u,y]`, both monotone (once retired or retrofitted,
it stays so; a retired unit generates nothing). A unit's CO2 is its average intensity times
its energy, less `retrofit_cut` of it once retrofitted: the reduced energy r[u,y] <= g[u,y],
r[u,y] <= hours*capacity*retrofitted[u,y] carries the cut. Each year the units meet the
year's demand (MWh) within their availability (hours * capacity * availability) and emit no
more than the year's cap, cap[y] = first cap * (1 - decline)^y unless a list is given.
Cost, discounted to year 0: fuel per MWh, fixed cost per year in service, carbon price per
tonne, and the one-off cost of each option in the year it is taken.

The intensity per unit is its fitted curve's at `typical_load` of capacity (a pathway
plans energy per year, not hours; the dispatch module handles the hours).
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.apps.errors import InfeasibleError, InputError
from carbonlab.apps.planning import bounds
from carbonlab.apps.planning.milp import Model, solve
from carbonlab.apps.planning.units import UnitModel

HOURS_PER_YEAR = 8760.0
MAX_YEARS = 100


@dataclass(frozen=True, slots=True)
class UnitOptions:
    unit: str
    fixed_cost_per_year: float = 0.0
    retire_cost: float = 0.0  # one-off, in the year of retirement
    retrofit_cost: float | None = None  # one-off; None: no retrofit possible
    retrofit_cut: float = 0.0  # fraction of CO2 removed once retrofitted
    availability: float = 0.85  # of the year's hours at capacity


@dataclass(frozen=True, slots=True)
class PathwayProblem:
    units: tuple[UnitModel, ...]
    options: tuple[UnitOptions, ...]
    first_year: int
    demand_mwh: tuple[float, ...]  # one per year
    caps_t: tuple[float, ...]  # one per year
    carbon_price: float = 0.0
    discount_rate: float = 0.05
    typical_load: float = 0.8

    def __post_init__(self) -> None:
        if len(self.demand_mwh) != len(self.caps_t):
            raise InputError(
                "caps", f"one cap per year of demand ({len(self.demand_mwh)}), got {len(self.caps_t)}"
            )
        if not 1 <= len(self.demand_mwh) <= MAX_YEARS:
            raise InputError("years", f"1..{MAX_YEARS} years are planned, got {len(self.demand_mwh)}")
        last = self.first_year + len(self.demand_mwh) - 1
        if not (self.first_year >= bounds.FIRST_YEAR and last <= bounds.LAST_YEAR):
            raise InputError("year", f"the years must be in {bounds.FIRST_YEAR}..{bounds.LAST_YEAR}, got "
                             f"{self.first_year}..{last}")
        bounds.check("carbon_price", self.carbon_price, bounds.MAX_PRICE_PER_T)
        bounds.check("discount_rate", self.discount_rate, bounds.MAX_DISCOUNT_RATE)
        for i, c in enumerate(self.caps_t):
            bounds.check(f"cap of year {self.first_year + i}", c, bounds.MAX_T)
        for i, d in enumerate(self.demand_mwh):
            bounds.check(f"demand of year {self.first_year + i}", d, bounds.MAX_MWH)
        by_unit = {o.unit for o in self.options}
        for u in self.units:
            if u.name not in by_unit:
                raise InputError(f"options: {u.name}", "every unit needs an options entry")
        for o in self.options:
            for name in ("fixed_cost_per_year", "retire_cost", "retrofit_cost"):
                if getattr(o, name) is not None:
                    bounds.check(f"options: {o.unit}: {name}", getattr(o, name), bounds.MAX_COST)
            if not 0 <= o.retrofit_cut <= 1:
                raise InputError(
                    f"options: {o.unit}: retrofit_cut", f"must be in [0, 1], got {o.retrofit_cut!r}"
                )
            if not 0 < o.availability <= 1:
                raise InputError(
                    f"options: {o.unit}: availability", f"must be in (0, 1], got {o.availability!r}"
                )
        if not 0 < self.typical_load <= 1:
            raise InputError("typical_load", f"must be in (0, 1], got {self.typical_load!r}")


def declining_caps(first_cap_t: float, decline: float, years: int) -> tuple[float, ...]:
    bounds.check("first_cap_t", first_cap_t, bounds.MAX_T)
    if not 0 <= decline < 1:
        raise InputError("decline", f"must be in [0, 1), got {decline!r}")
    return tuple(first_cap_t * (1 - decline) ** y for y in range(years))


@dataclass(frozen=True, slots=True)
class YearPlan:
    year: int
    generation_mwh: tuple[float, ...]  # per unit
    emissions_t: float
    cap_t: float
    retired: tuple[str, ...]  # units out of service this year
    retrofitted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PathwayResult:
    units: tuple[str, ...]
    years: tuple[YearPlan, ...]
    cost: float  # discounted to the first year
    actions: tuple[str, ...]  # "2027: retire U2", "2026: retrofit U1"


def solve_pathway(problem: PathwayProblem) -> PathwayResult:
    opts = {o.unit: o for o in problem.options}
    m = Model()
    n_y = len(problem.demand_mwh)
    g: list[list[int]] = []
    r: list[list[int]] = []
    ret: list[list[int]] = []
    fit: list[list[int]] = []
    emis_terms: list[list[tuple[int, float]]] = [[] for _ in range(n_y)]
    for unit in problem.units:
        o = opts[unit.name]
        cap = unit.limits.capacity_mw
        intensity = unit.curve.t_per_mwh(problem.typical_load * cap)
        max_mwh = HOURS_PER_YEAR * cap * o.availability
        gu: list[int] = []
        ru: list[int] = []
        retu: list[int] = []
        fitu: list[int] = []
        for y in range(n_y):
            d = 1.0 / (1.0 + problem.discount_rate) ** y
            gen = m.var(d * (unit.fuel_cost_per_mwh + problem.carbon_price * intensity), 0.0, max_mwh)
            red = m.var(-d * problem.carbon_price * intensity * o.retrofit_cut, 0.0, max_mwh)
            retired = m.var(-d * o.fixed_cost_per_year, binary=True)  # saves the fixed cost
            retro = m.var(binary=True)
            if o.retrofit_cost is None:
                m.row([(retro, 1.0)], hi=0.0)
            m.row([(gen, 1.0), (retired, max_mwh)], hi=max_mwh)  # retired: no generation
            m.row([(red, 1.0), (gen, -1.0)], hi=0.0)
            m.row([(red, 1.0), (retro, -max_mwh)], hi=0.0)
            if y:
                m.row([(retired, 1.0), (retu[-1], -1.0)], lo=0.0)
                m.row([(retro, 1.0), (fitu[-1], -1.0)], lo=0.0)
            emis_terms[y] += [(gen, intensity), (red, -intensity * o.retrofit_cut)]
            gu.append(gen)
            ru.append(red)
            retu.append(retired)
            fitu.append(retro)
        # one-off costs in the year the option is taken: cost * (x[y] - x[y-1]) discounted
        for series, cost in ((retu, o.retire_cost), (fitu, o.retrofit_cost or 0.0)):
            for y in range(n_y):
                d = 1.0 / (1.0 + problem.discount_rate) ** y
                m.cost[series[y]] += d * cost
                if y + 1 < n_y:
                    m.cost[series[y]] -= cost / (1.0 + problem.discount_rate) ** (y + 1)
        g.append(gu)
        r.append(ru)
        ret.append(retu)
        fit.append(fitu)
    const = sum(
        o.fixed_cost_per_year / (1.0 + problem.discount_rate) ** y
        for o in problem.options
        for y in range(n_y)
    )
    total_avail = sum(
        HOURS_PER_YEAR * u.limits.capacity_mw * opts[u.name].availability for u in problem.units
    )
    for y in range(n_y):
        if problem.demand_mwh[y] > total_avail:
            raise InfeasibleError(
                "demand",
                f"year {problem.first_year + y} asks for {problem.demand_mwh[y]:g} MWh, "
                f"above the units' available {total_avail:g} MWh",
            )
        m.row(
            [(g[u][y], 1.0) for u in range(len(problem.units))], problem.demand_mwh[y], problem.demand_mwh[y]
        )
        m.row(emis_terms[y], hi=problem.caps_t[y])
    sol = solve(m, what="cap")
    x = sol.x
    names = tuple(u.name for u in problem.units)
    years: list[YearPlan] = []
    actions: list[str] = []
    for y in range(n_y):
        out = tuple(n for i, n in enumerate(names) if x[ret[i][y]] > 0.5)
        retro_units = tuple(n for i, n in enumerate(names) if x[fit[i][y]] > 0.5)
        emis = sum(x[i] * c for i, c in emis_terms[y])
        years.append(
            YearPlan(
                problem.first_year + y,
                tuple(x[g[i][y]] for i in range(len(names))),
                emis,
                problem.caps_t[y],
                out,
                retro_units,
            )
        )
        prev_ret = years[-2].retired if y else ()
        prev_fit = years[-2].retrofitted if y else ()
        actions += [f"{problem.first_year + y}: retire {n}" for n in out if n not in prev_ret]
        actions += [f"{problem.first_year + y}: retrofit {n}" for n in retro_units if n not in prev_fit]
    return PathwayResult(names, tuple(years), sol.objective + const, tuple(actions))
