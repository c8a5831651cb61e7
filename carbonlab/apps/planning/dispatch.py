"""Day-ahead dispatch of one company's units as a mixed-integer programme (HiGHS).

Theory of operation. Per unit u and hour t: a binary `on`, a start-up indicator `start`
(>= on[t] - on[t-1]), and the output split into the minimum stable load (taken when on)
plus K load segments above it. The CO2 rate is the unit's fitted quadratic curve made
piecewise linear on K+1 breakpoints from min_mw to capacity_mw (exact at the breakpoints);
for a convex curve the cheaper segments fill first by themselves, for a non-convex one
binaries force them in order (the incremental formulation). Constraints:

- demand: the units' outputs sum to the demand of every hour;
- min load: min_mw*on <= P <= capacity_mw*on;
- ramp: P[t] - P[t-1] <= ramp (or up to max(ramp, min_mw) in the hour a unit starts), and
  symmetrically down (a unit ramps to its minimum before it stops);
- cap (optional): total CO2 over the horizon <= the allowance still available.

The objective is fuel (per MWh) + no-load (per hour on) + start-up + carbon price * CO2.

Infeasibility is found before the solver where it can be named: an hour whose demand
exceeds the sum of the units' capacities, and a cap below the least CO2 any feasible
schedule emits (a second MILP minimises CO2 alone). Anything else HiGHS proves infeasible is
reported as the ramp and minimum-load limits.

The cap's shadow price is defined as the carbon price at which the cap stops binding: the
least price p* at which the dispatch *without* the cap emits no more than the cap, found by
bisection on the price (emissions fall monotonically, in steps, as the price rises): an
upper bracket by doubling, then halving to 0.01 per tonne or 0.5 %, whichever is wider.
It is reported as p* minus the
carbon price already in the objective (zero when the cap does not bind), and p* itself as
`cap_breakeven_price`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from carbonlab.apps.errors import InfeasibleError, InputError
from carbonlab.apps.planning import bounds
from carbonlab.apps.planning.milp import Model, solve
from carbonlab.apps.planning.units import UnitModel

PRICE_TOLERANCE = 0.01
PRICE_RELATIVE = 0.005
# Bounds that keep one call from running for hours: a month of hours, 50 pieces of a curve, an
# hour of HiGHS per solve (the cap's bisection solves up to ~30 times).
MAX_HOURS = 24 * 31
MAX_SEGMENTS = 50
MAX_TIME_LIMIT_S = 3600.0


@dataclass(frozen=True, slots=True)
class DispatchProblem:
    units: tuple[UnitModel, ...]
    demand_mw: tuple[float, ...]  # one per hour
    carbon_price: float = 0.0  # currency per tonne CO2
    cap_t: float | None = None  # allowance still available for the horizon, t CO2
    initial_mw: tuple[float | None, ...] | None = None  # per unit at hour -1; None: free
    segments: int = 4
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4  # HiGHS's own default: "optimal" within 0.01 %

    def __post_init__(self) -> None:
        if not self.units:
            raise InputError("units", "at least one unit is needed")
        if not self.demand_mw:
            raise InputError("demand", "the demand curve is empty")
        names = [u.name for u in self.units]
        if len(set(names)) != len(names):
            raise InputError(
                "units", f"a unit is named twice: {sorted(n for n in names if names.count(n) > 1)}"
            )
        for h, d in enumerate(self.demand_mw):
            bounds.check(f"demand hour {h}", d, bounds.MAX_MW)
        if len(self.demand_mw) > MAX_HOURS:
            raise InputError("demand", f"{len(self.demand_mw)} hours; a dispatch plans at most {MAX_HOURS} "
                             "(a month): split a longer horizon, or plan years with `plan pathway`")
        bounds.check("carbon_price", self.carbon_price, bounds.MAX_PRICE_PER_T)
        if self.cap_t is not None:
            bounds.check("cap_t", self.cap_t, bounds.MAX_T)
        if not 0 < self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise InputError("time_limit_s", f"must be above 0 and at most {MAX_TIME_LIMIT_S:g} s, "
                             f"got {self.time_limit_s!r}")
        if self.initial_mw is not None and len(self.initial_mw) != len(self.units):
            raise InputError(
                "initial_mw", f"needs one value per unit ({len(self.units)}), got {len(self.initial_mw)}"
            )
        if not 1 <= self.segments <= MAX_SEGMENTS:
            raise InputError("segments", f"must be in 1..{MAX_SEGMENTS}, got {self.segments!r}")
        for unit, mw in zip(self.units, self.initial_mw or (), strict=False):
            if mw is not None and mw > unit.limits.capacity_mw:
                raise InputError(f"unit {unit.name}: initial_mw", f"{mw:g} MW is above its capacity_mw "
                                 f"{unit.limits.capacity_mw:g}")
            if mw is not None and 0 < mw < unit.limits.min_mw:
                raise InputError(f"unit {unit.name}: initial_mw", f"{mw:g} MW is below its min_mw "
                                 f"{unit.limits.min_mw:g}: a running unit is at least at its minimum "
                                 "load (0 means off)")


@dataclass(frozen=True, slots=True)
class DispatchResult:
    units: tuple[str, ...]
    schedule_mw: tuple[tuple[float, ...], ...]  # [unit][hour]
    on: tuple[tuple[bool, ...], ...]
    co2_t: tuple[tuple[float, ...], ...]
    cost: float
    fuel_cost: float
    no_load_cost: float
    startup_cost: float
    carbon_cost: float
    emissions_t: float
    carbon_price: float
    cap_t: float | None
    cap_binding: bool
    cap_shadow_price: float
    cap_breakeven_price: float | None
    mip_gap: float
    optimal: bool  # False: the time limit stopped HiGHS, the schedule is within mip_gap of optimal
    solve_s: float


def breakpoints(unit: UnitModel, segments: int) -> list[tuple[float, float]]:
    """(MW, t CO2/h) at min_mw and the ends of each segment up to capacity."""
    lim = unit.limits
    width = (lim.capacity_mw - lim.min_mw) / segments
    points = [lim.min_mw + k * width for k in range(segments + 1)]
    return [(p, unit.curve.co2_t_h(p)) for p in points]


@dataclass
class _Vars:
    p: list[list[int]]
    on: list[list[int]]
    start: list[list[int]]
    seg: list[list[list[int]]]
    co2: list[list[list[tuple[int, float]]]]  # per unit, hour: the terms of its CO2 (t)


def _build(
    problem: DispatchProblem, price: float, cap_t: float | None, *, co2_only: bool = False
) -> tuple[Model, _Vars]:
    m = Model()
    hours = len(problem.demand_mw)
    v = _Vars([], [], [], [], [])
    for ui, unit in enumerate(problem.units):
        lim = unit.limits
        bps = breakpoints(unit, problem.segments)
        slopes = [
            (bps[k + 1][1] - bps[k][1]) / (bps[k + 1][0] - bps[k][0]) if bps[k + 1][0] > bps[k][0] else 0.0
            for k in range(problem.segments)
        ]
        convex = all(slopes[k] <= slopes[k + 1] + 1e-12 for k in range(len(slopes) - 1))
        width = (lim.capacity_mw - lim.min_mw) / problem.segments
        base_co2 = bps[0][1]
        ps, ons, starts, segs, co2s = [], [], [], [], []
        for _t in range(hours):
            on_cost = (
                base_co2
                if co2_only
                else (unit.no_load_cost_per_h + unit.fuel_cost_per_mwh * lim.min_mw + price * base_co2)
            )
            on = m.var(on_cost, binary=True)
            start = m.var(0.0 if co2_only else unit.startup_cost, 0.0, 1.0)
            seg = [
                m.var((slopes[k] if co2_only else unit.fuel_cost_per_mwh + price * slopes[k]), 0.0, width)
                for k in range(problem.segments)
            ]
            p = m.var(0.0, 0.0, lim.capacity_mw)
            # P = min*on + sum(seg); seg_k <= width*on
            m.row([(p, 1.0), (on, -lim.min_mw), *((s, -1.0) for s in seg)], 0.0, 0.0)
            for s in seg:
                m.row([(s, 1.0), (on, -width)], hi=0.0)
            if not convex:
                z = [m.var(binary=True) for _ in range(problem.segments - 1)]
                for k, zk in enumerate(z):
                    m.row([(seg[k], 1.0), (zk, -width)], lo=0.0)
                    m.row([(seg[k + 1], 1.0), (zk, -width)], hi=0.0)
            ps.append(p)
            ons.append(on)
            starts.append(start)
            segs.append(seg)
            co2s.append([(on, base_co2), *((s, slopes[k]) for k, s in enumerate(seg))])
        v.p.append(ps)
        v.on.append(ons)
        v.start.append(starts)
        v.seg.append(segs)
        v.co2.append(co2s)
        initial = problem.initial_mw[ui] if problem.initial_mw is not None else None
        up_start = max(lim.ramp_mw_per_h, lim.min_mw)
        for t in range(hours):
            if t == 0:
                if initial is None:
                    continue
                was_on = 1.0 if initial > 0 else 0.0
                # start >= on - was_on ; ramps from the constant initial output
                m.row([(starts[0], 1.0), (ons[0], -1.0)], lo=-was_on)
                ramp_up = lim.ramp_mw_per_h if was_on else up_start
                m.row([(ps[0], 1.0)], hi=initial + ramp_up)
                m.row([(ps[0], -1.0), (ons[0], up_start - lim.ramp_mw_per_h)], hi=up_start - initial)
                continue
            m.row([(starts[t], 1.0), (ons[t], -1.0), (ons[t - 1], 1.0)], lo=0.0)
            extra = up_start - lim.ramp_mw_per_h
            # up:   P[t] - P[t-1] <= R + extra*(1 - on[t-1])
            m.row([(ps[t], 1.0), (ps[t - 1], -1.0), (ons[t - 1], extra)], hi=up_start)
            # down: P[t-1] - P[t] <= R + extra*(1 - on[t])
            m.row([(ps[t - 1], 1.0), (ps[t], -1.0), (ons[t], extra)], hi=up_start)
    for t, demand in enumerate(problem.demand_mw):
        m.row([(v.p[ui][t], 1.0) for ui in range(len(problem.units))], demand, demand)
    if cap_t is not None:
        m.row([term for unit_terms in v.co2 for hour_terms in unit_terms for term in hour_terms], hi=cap_t)
    return m, v


def _check_capacity(problem: DispatchProblem) -> None:
    total = sum(u.limits.capacity_mw for u in problem.units)
    for h, d in enumerate(problem.demand_mw):
        if d > total + 1e-9:
            raise InfeasibleError(
                "demand", f"hour {h} asks for {d:g} MW, above the units' total capacity of {total:g} MW"
            )


def minimum_emissions_t(problem: DispatchProblem) -> float:
    """The least CO2 any schedule meeting the demand and limits emits (HiGHS's proven bound)."""
    _check_capacity(problem)
    model, _ = _build(problem, 0.0, None, co2_only=True)
    return solve(
        model,
        what="ramp and minimum-load limits",
        time_limit_s=problem.time_limit_s,
        mip_rel_gap=problem.mip_rel_gap,
    ).bound


def _solve_at(problem: DispatchProblem, price: float, cap_t: float | None, started: float) -> DispatchResult:
    model, v = _build(problem, price, cap_t)
    sol = solve(
        model,
        what="cap" if cap_t is not None else "ramp and minimum-load limits",
        time_limit_s=problem.time_limit_s,
        mip_rel_gap=problem.mip_rel_gap,
    )
    x = sol.x
    n_h = len(problem.demand_mw)

    def val(terms: list[tuple[int, float]]) -> float:
        return sum(x[i] * c for i, c in terms)

    sched = tuple(tuple(max(0.0, x[v.p[u][t]]) for t in range(n_h)) for u in range(len(problem.units)))
    on = tuple(tuple(x[v.on[u][t]] > 0.5 for t in range(n_h)) for u in range(len(problem.units)))
    co2 = tuple(tuple(val(v.co2[u][t]) for t in range(n_h)) for u in range(len(problem.units)))
    fuel = sum(unit.fuel_cost_per_mwh * sum(sched[u]) for u, unit in enumerate(problem.units))
    no_load = sum(unit.no_load_cost_per_h * sum(on[u]) for u, unit in enumerate(problem.units))
    startup = sum(
        unit.startup_cost * sum(round(x[s]) for s in v.start[u]) for u, unit in enumerate(problem.units)
    )
    emissions = sum(sum(row) for row in co2)
    return DispatchResult(
        units=tuple(u.name for u in problem.units),
        schedule_mw=sched,
        on=on,
        co2_t=co2,
        cost=sol.objective,
        fuel_cost=fuel,
        no_load_cost=no_load,
        startup_cost=startup,
        carbon_cost=price * emissions,
        emissions_t=emissions,
        carbon_price=price,
        cap_t=cap_t,
        cap_binding=False,
        cap_shadow_price=0.0,
        cap_breakeven_price=None,
        mip_gap=sol.mip_gap,
        optimal=sol.optimal,
        solve_s=time.perf_counter() - started,
    )


def solve_dispatch(problem: DispatchProblem, *, shadow_price: bool = True) -> DispatchResult:
    """The least-cost schedule; with a cap, also whether it binds and its shadow price."""
    started = time.perf_counter()
    _check_capacity(problem)
    if problem.cap_t is None:
        return _solve_at(problem, problem.carbon_price, None, started)
    floor = minimum_emissions_t(problem)
    if problem.cap_t < floor - 1e-6:
        raise InfeasibleError(
            "cap",
            f"the cap of {problem.cap_t:g} t is below the minimum emissions of "
            f"{floor:.3f} t any schedule meeting the demand has",
        )
    result = _solve_at(problem, problem.carbon_price, problem.cap_t, started)
    free = _solve_at(problem, problem.carbon_price, None, started)
    binding = free.emissions_t > problem.cap_t + 1e-6
    shadow, breakeven = 0.0, None
    if binding and shadow_price:
        breakeven = breakeven_price(problem, problem.cap_t)
        shadow = max(0.0, breakeven - problem.carbon_price)
    return _replace(result, binding, shadow, breakeven, time.perf_counter() - started)


def breakeven_price(problem: DispatchProblem, cap_t: float) -> float:
    """Least carbon price (to PRICE_TOLERANCE) at which the uncapped dispatch emits <= cap_t."""
    t0 = time.perf_counter()
    lo = problem.carbon_price
    hi = max(1.0, 2.0 * lo)
    while _solve_at(problem, hi, None, t0).emissions_t > cap_t + 1e-6:
        lo, hi = hi, hi * 2.0
        if hi > 1e9:
            raise InfeasibleError("cap", f"no carbon price up to 1e9 brings emissions to {cap_t:g} t")
    while hi - lo > max(PRICE_TOLERANCE, PRICE_RELATIVE * hi):
        mid = (lo + hi) / 2.0
        if _solve_at(problem, mid, None, t0).emissions_t > cap_t + 1e-6:
            lo = mid
        else:
            hi = mid
    return hi


def _replace(
    r: DispatchResult, binding: bool, shadow: float, breakeven: float | None, solve_s: float
) -> DispatchResult:
    from dataclasses import replace

    return replace(
        r, cap_binding=binding, cap_shadow_price=shadow, cap_breakeven_price=breakeven, solve_s=solve_s
    )


def merit_order(units: Sequence[UnitModel], price: float = 0.0) -> list[str]:
    """Units by their average cost per MWh at full load (fuel + no-load + carbon)."""

    def full_load_cost(u: UnitModel) -> float:
        cap = u.limits.capacity_mw
        return u.fuel_cost_per_mwh + u.no_load_cost_per_h / cap + price * u.curve.t_per_mwh(cap)

    return [u.name for u in sorted(units, key=full_load_cost)]
