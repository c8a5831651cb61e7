"""`carbonlab bench plan`: a day-ahead dispatch of 20 units and a year-end forecast for 100 stacks.

Targets (issue 15): the dispatch (24 hours, carbon price, no cap) solves to optimality
(HiGHS's default relative gap, 1e-4) in under 10 s; the year-end forecasts of 100 stacks
(half a year of hourly history each) take under 30 s. Also printed, without a target: the
same dispatch under a binding cap with its shadow price, with `--cap` (a cap couples every
hour, and the shadow price takes one MILP per bisection step: minutes, not seconds).

The units are seeded (capacities 200-660 MW, min load 40 %, ramps, fuel, start-up and
no-load costs, CO2 curves near 0.8-1.0 t/MWh); the stacks' hourly CO2 comes from a fast
seeded hourly model (a daily load shape, AR(1) load noise, trips), since stepping the rig's
per-second profile for 100 stacks x 181 days would time the emulator, not the forecast.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import UTC, datetime
from typing import Any

from carbonlab.cli.argtypes import integer, seed


def register(sub: Any) -> None:
    parser = sub.add_parser("plan", help="time a 20-unit day-ahead dispatch and 100 year-end forecasts")
    parser.add_argument("--units", type=integer(1, 1000), default=20)
    parser.add_argument("--stacks", type=integer(1, 10_000), default=100)
    parser.add_argument("--days", type=integer(1, 365), default=181,
                        help="days of history per stack (from 1 Jan)")
    parser.add_argument("--seed", type=seed, default=1)
    parser.add_argument(
        "--cap",
        action="store_true",
        help="also the dispatch under a binding cap with its shadow price (minutes)",
    )
    parser.set_defaults(func=_run)


def fleet(n: int, seed: int) -> tuple[Any, tuple[float, ...]]:
    from carbonlab.apps.planning.units import IntensityCurve, UnitLimits, UnitModel

    rng = random.Random(seed)
    units = []
    for i in range(n):
        cap = rng.choice((200.0, 300.0, 350.0, 600.0, 660.0))
        curve = IntensityCurve(
            0.04 * cap * rng.uniform(0.8, 1.2), rng.uniform(0.72, 0.86), rng.uniform(0, 1e-4)
        )
        units.append(
            UnitModel(
                UnitLimits(f"U{i + 1:02d}", cap, 0.4 * cap, rng.uniform(0.3, 0.6) * cap),
                curve,
                rng.uniform(20.0, 50.0),
                rng.uniform(0, 2.0) * cap,
                rng.uniform(10.0, 40.0) * cap,
            )
        )
    total = sum(u.limits.capacity_mw for u in units)
    demand = tuple(round(total * (0.55 + 0.2 * math.sin(2 * math.pi * (h - 8) / 24)), 1) for h in range(24))
    return tuple(units), demand


def stack_series(i: int, seed: int, days: int) -> Any:
    import numpy as np

    from carbonlab.apps.forecast.series import HourlySeries

    rng = np.random.default_rng([seed, i])
    hours = np.arange(days * 24)
    cap = float(rng.choice([350.0, 600.0, 660.0]))
    shape = 0.7 + 0.2 * np.sin(2 * np.pi * ((hours % 24) - 8) / 24)
    noise = np.zeros(len(hours))
    for t in range(1, len(hours)):
        noise[t] = 0.9 * noise[t - 1] + rng.normal(0, 0.03)
    load = np.clip(shape + noise, 0.4, 1.0)
    off = rng.random(len(hours)) < 0.5 / 24
    load[off] = 0.0
    t_h = np.where(load > 0, 0.04 * cap + 0.8 * cap * load, 0.0)
    first = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    return HourlySeries(f"stack{i + 1:03d}", first, tuple(float(v) * 1000.0 for v in t_h))


def _run(args: argparse.Namespace) -> int:
    import os

    from carbonlab.apps.forecast.emissions import forecast_year_end
    from carbonlab.apps.planning.dispatch import DispatchProblem, solve_dispatch

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    units, demand = fleet(args.units, args.seed)
    t0 = time.perf_counter()
    free = solve_dispatch(DispatchProblem(units, demand, carbon_price=30.0))
    dispatch_s = time.perf_counter() - t0
    print(
        f"dispatch: {len(units)} units x {len(demand)} h, carbon price 30: {dispatch_s:.2f} s "
        f"({'optimal' if free.optimal else 'time limit'}, MIP gap {free.mip_gap:.1e}), "
        f"cost {free.cost:,.0f}, "
        f"CO2 {free.emissions_t:,.1f} t (target < 10 s)"
    )
    if args.cap:
        cap = round(0.97 * free.emissions_t, 1)
        t0 = time.perf_counter()
        capped = solve_dispatch(DispatchProblem(units, demand, carbon_price=30.0, cap_t=cap))
        print(
            f"dispatch with a cap of {cap:,.1f} t: {time.perf_counter() - t0:.2f} s incl. the shadow price "
            f"({'optimal' if capped.optimal else 'time limit'}, gap {capped.mip_gap:.1e}): "
            f"shadow price {capped.cap_shadow_price:.2f} per t, CO2 {capped.emissions_t:,.1f} t"
        )
    t0 = time.perf_counter()
    stacks = [stack_series(i, args.seed, args.days) for i in range(args.stacks)]
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # each stack's allowance: its emissions to date run at the same rate to the year end
    positions = [
        forecast_year_end(s, allowance_t=sum(s.kg) / 1000 * 365 / args.days, seed=i, price=80.0)
        for i, s in enumerate(stacks)
    ]
    forecast_s = time.perf_counter() - t0
    short = sum(p.shortfall_probability > 0.5 for p in positions)
    print(
        f"year-end forecast: {len(stacks)} stacks x {args.days} days of hourly history: {forecast_s:.2f} s "
        f"({1000 * forecast_s / len(stacks):.0f} ms a stack; series built in {gen_s:.2f} s) (target < 30 s); "
        f"{short} stacks likely short"
    )
    return 0
