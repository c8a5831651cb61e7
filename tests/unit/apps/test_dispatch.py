"""Dispatch MILP: equals brute-force enumeration, merit order at zero price, the cap's shadow price."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from carbonlab.apps.errors import InfeasibleError
from carbonlab.apps.planning.dispatch import DispatchProblem, breakpoints, solve_dispatch
from carbonlab.apps.planning.units import IntensityCurve, UnitLimits, UnitModel


def unit(
    name: str,
    cap: float,
    min_mw: float,
    ramp: float,
    curve: tuple[float, float, float],
    fuel: float,
    no_load: float = 0.0,
    startup: float = 0.0,
) -> UnitModel:
    return UnitModel(UnitLimits(name, cap, min_mw, ramp), IntensityCurve(*curve), fuel, no_load, startup)


def brute_force(problem: DispatchProblem) -> float:
    """Every on/off pattern; for each, the least-cost outputs by an LP written here, independently."""
    units, hours = problem.units, len(problem.demand_mw)
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=len(units) * hours):
        on = np.array(pattern).reshape(len(units), hours)
        # variables: per unit, hour, segment: the MW in that segment above min_mw
        cost, bounds, a_eq, b_eq, a_ub, b_ub = [], [], [], [], [], []
        index = {}
        fixed = 0.0
        for u, m in enumerate(units):
            bps = breakpoints(m, problem.segments)
            for t in range(hours):
                if on[u, t]:
                    fixed += m.no_load_cost_per_h + m.fuel_cost_per_mwh * m.limits.min_mw
                    fixed += problem.carbon_price * bps[0][1]
                    if t > 0 and not on[u, t - 1]:
                        fixed += m.startup_cost
                for k in range(problem.segments):
                    (x0, y0), (x1, y1) = bps[k], bps[k + 1]
                    index[u, t, k] = len(cost)
                    cost.append(m.fuel_cost_per_mwh + problem.carbon_price * (y1 - y0) / (x1 - x0))
                    bounds.append((0.0, (x1 - x0) if on[u, t] else 0.0))
        n = len(cost)

        def output(
            u: int, t: int, n: int = n, index: dict = index, on: np.ndarray = on
        ) -> tuple[np.ndarray, float]:
            row = np.zeros(n)
            for k in range(problem.segments):
                row[index[u, t, k]] = 1.0
            return row, units[u].limits.min_mw * on[u, t]

        for t, demand in enumerate(problem.demand_mw):
            row, const = np.zeros(n), 0.0
            for u in range(len(units)):
                r, c = output(u, t)
                row, const = row + r, const + c
            a_eq.append(row)
            b_eq.append(demand - const)
        for u, m in enumerate(units):
            ramp, up_start = m.limits.ramp_mw_per_h, max(m.limits.ramp_mw_per_h, m.limits.min_mw)
            for t in range(1, hours):
                (r1, c1), (r0, c0) = output(u, t), output(u, t - 1)
                up = ramp if on[u, t - 1] else up_start
                down = ramp if on[u, t] else up_start
                a_ub += [r1 - r0, r0 - r1]
                b_ub += [up - (c1 - c0), down - (c0 - c1)]
        res = linprog(
            cost,
            A_ub=np.array(a_ub) if a_ub else None,
            b_ub=b_ub or None,
            A_eq=np.array(a_eq),
            b_eq=b_eq,
            bounds=bounds,
            method="highs",
        )
        if res.status == 0:
            best = min(best, res.fun + fixed)
    return float(best)


SMALL = (
    unit("A", 100, 40, 30, (8.0, 0.6, 0.002), 20.0, no_load=150.0, startup=400.0),
    unit("B", 60, 20, 60, (2.0, 0.9, 0.001), 28.0, no_load=40.0, startup=100.0),
    unit("C", 50, 10, 50, (0.0, 0.4, 0.0), 45.0, startup=50.0),
)


@pytest.mark.parametrize(
    ("demand", "price"),
    [((90, 130, 70), 0.0), ((90, 130, 70), 25.0), ((50, 150, 180), 10.0), ((35, 120, 60), 40.0)],
)
def test_the_milp_optimum_equals_brute_force_enumeration(demand: tuple[float, ...], price: float) -> None:
    problem = DispatchProblem(
        SMALL, tuple(float(d) for d in demand), carbon_price=price, segments=2, mip_rel_gap=1e-9
    )
    result = solve_dispatch(problem)
    assert result.optimal
    assert result.cost == pytest.approx(brute_force(problem), rel=1e-7)
    for t, d in enumerate(demand):
        assert sum(result.schedule_mw[u][t] for u in range(3)) == pytest.approx(d)
    parts = result.fuel_cost + result.no_load_cost + result.startup_cost + result.carbon_cost
    assert parts == pytest.approx(result.cost, rel=1e-7)


def test_zero_carbon_price_dispatches_in_merit_order() -> None:
    # the cheapest fuel is the dirtiest: at price 0 it still runs first
    units = (
        unit("dirty", 100, 0, 100, (0.0, 1.0, 0.0), 10.0),
        unit("mid", 100, 0, 100, (0.0, 0.7, 0.0), 20.0),
        unit("clean", 100, 0, 100, (0.0, 0.3, 0.0), 30.0),
    )
    result = solve_dispatch(DispatchProblem(units, (50.0, 150.0, 250.0)))
    assert [round(p, 6) for p in result.schedule_mw[0]] == [50, 100, 100]
    assert [round(p, 6) for p in result.schedule_mw[1]] == [0, 50, 100]
    assert [round(p, 6) for p in result.schedule_mw[2]] == [0, 0, 50]


TWO = (unit("dirty", 100, 0, 100, (0.0, 1.0, 0.0), 10.0), unit("clean", 100, 0, 100, (0.0, 0.4, 0.0), 30.0))


def test_a_binding_cap_has_a_positive_shadow_price_at_the_switching_price() -> None:
    result = solve_dispatch(DispatchProblem(TWO, (100.0, 100.0), cap_t=150.0))
    assert result.cap_binding
    assert result.emissions_t == pytest.approx(150.0)
    # the clean unit replaces the dirty one at (30 - 10) / (1.0 - 0.4) per tonne
    assert result.cap_shadow_price == pytest.approx(20 / 0.6, abs=0.2)
    assert result.cap_breakeven_price == pytest.approx(result.cap_shadow_price)
    # with a carbon price already paid, the shadow price is what the cap adds on top of it
    priced = solve_dispatch(DispatchProblem(TWO, (100.0, 100.0), carbon_price=10.0, cap_t=150.0))
    assert priced.cap_shadow_price == pytest.approx(20 / 0.6 - 10.0, abs=0.2)


def test_a_loose_cap_has_a_zero_shadow_price() -> None:
    result = solve_dispatch(DispatchProblem(TWO, (100.0, 100.0), cap_t=250.0))
    assert not result.cap_binding
    assert result.cap_shadow_price == 0.0
    assert result.emissions_t == pytest.approx(200.0)


def test_demand_above_capacity_is_refused_naming_the_demand_and_hour() -> None:
    with pytest.raises(
        InfeasibleError,
        match=r"infeasible \(demand\): hour 1 asks for 250 MW, above the "
        r"units' total capacity of 200 MW",
    ) as err:
        solve_dispatch(DispatchProblem(TWO, (100.0, 250.0)))
    assert err.value.constraint == "demand"


def test_a_cap_below_the_minimum_emissions_is_refused_naming_the_cap() -> None:
    with pytest.raises(
        InfeasibleError,
        match=r"infeasible \(cap\): the cap of 50 t is below the minimum "
        r"emissions of 80.000 t",
    ) as err:
        solve_dispatch(DispatchProblem(TWO, (100.0, 100.0), cap_t=50.0))
    assert err.value.constraint == "cap"


def test_ramp_limits_that_cannot_follow_the_demand_are_refused_naming_them() -> None:
    slow = (unit("slow", 200, 50, 10, (0.0, 1.0, 0.0), 10.0),)
    with pytest.raises(InfeasibleError, match=r"ramp and minimum-load"):
        solve_dispatch(DispatchProblem(slow, (60.0, 150.0), initial_mw=(60.0,)))
