"""`carbonlab plan dispatch|pathway`: the planning module (docs/planning.md).

scipy (HiGHS), numpy and matplotlib are imported inside the functions that run, so
`carbonlab --help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import integer, node_url, number
from carbonlab.node.gwp import GwpSet


def _curve_sources(p: argparse.ArgumentParser) -> None:
    """Where each unit's CO2 curve is fitted from (both actions take the same)."""
    p.add_argument("--readings", type=Path, help="CSV unit,interval_s,co2_kg,mwh: fit each unit's CO2 curve")
    p.add_argument("--co2e", choices=[g.value for g in GwpSet],
                   help="with --ledger: fit CO2e by this GWP-100 set")
    p.add_argument(
        "--ledger",
        type=Path,
        help="a ledger file: fit each unit's CO2 curve from its readings; a unit without "
        "limits in the JSON takes those genesis declares",
    )
    p.add_argument("--node", type=node_url, help="a member's API URL: as --ledger, from the member's "
                   "committed readings (limits from --genesis)")
    p.add_argument("--genesis", type=Path, help="a trusted genesis: with --ledger the ledger must match it; "
                   "with --node the units' limits come from it")


def register(sub: Any) -> None:
    parser = sub.add_parser("plan", help="dispatch planning under a carbon price or cap; multi-year pathways")
    psub = parser.add_subparsers(dest="plan_command", metavar="ACTION")

    d = psub.add_parser("dispatch", help="least-cost unit schedule over a horizon (MILP, HiGHS)")
    d.add_argument("--units", type=Path, required=True, help="units JSON (limits, costs, curve)")
    _curve_sources(d)
    d.add_argument(
        "--demand", type=Path, required=True, help="CSV hour,demand_mw (default horizon: its rows)"
    )
    d.add_argument("--carbon-price", type=number(), default=0.0, help="per tonne CO2 (default 0)")
    d.add_argument("--cap-t", type=number(), help="the allowance still available for the horizon, t CO2")
    d.add_argument("--cap-from-chain", metavar="COMPANY",
                   help="cap the horizon's CO2 at COMPANY's allowance still available on the chain "
                   "(--node URL or the --ledger): allocated + bought - sold - emitted this year, "
                   "pro rata to the horizon")
    d.add_argument("--start", help="with --cap-from-chain: hour 0 of the horizon, ISO 8601 UTC "
                   "(default: the next whole hour)")
    d.add_argument("--cap-share", type=number(),
                   help="with --cap-from-chain: the share of the available allowance for this horizon "
                   "(default: its hours / the hours left in the year)")
    d.add_argument("--segments", type=integer(), default=4,
                   help="linear pieces of each CO2 curve (default 4)")
    d.add_argument("--time-limit-s", type=number(), default=60.0)
    d.add_argument("--json", action="store_true", help="print the result as JSON")
    d.add_argument("--png", type=Path, help="write the schedule as a stacked area PNG")
    d.set_defaults(func=_dispatch)

    p = psub.add_parser("pathway", help="multi-year plan under a declining cap with retire/retrofit options")
    p.add_argument("--units", type=Path, required=True, help="units JSON, with each unit's `options`")
    _curve_sources(p)
    p.add_argument("--demand", type=Path, required=True, help="CSV year,demand_mwh")
    p.add_argument("--first-cap-t", type=number(), required=True, help="the first year's cap, t CO2")
    p.add_argument("--decline", type=number(), default=0.04, help="yearly fall of the cap (default 0.04)")
    p.add_argument("--carbon-price", type=number(), default=0.0)
    p.add_argument("--discount-rate", type=number(), default=0.05,
                   help="yearly, 0..1 (default 0.05)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_pathway)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _units(args: argparse.Namespace) -> Any:
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.planning import inputs

    if args.co2e and not (args.ledger or args.node):
        raise InputError("--co2e", "needs --ledger or --node (the CH4 and N2O masses come from the "
                         "ledger's readings)")
    if sum(1 for s in (args.readings, args.ledger, args.node) if s) > 1:
        raise InputError("--readings/--ledger/--node", "give one source of readings, not several")
    if args.genesis and not (args.ledger or args.node):
        raise InputError("--genesis", "goes with --ledger or --node")
    readings = inputs.read_readings(args.readings) if args.readings else None
    declared = None
    if args.ledger or args.node:
        from carbonlab.apps.chain import open_chain
        from carbonlab.apps.ledger import limits_from, point_filter, points_from
        from carbonlab.node.gwp import GwpSet
        from carbonlab.node.query import Level, Period

        chain = open_chain(node=args.node, ledger=args.ledger, genesis=None if args.node else args.genesis)
        try:
            result = chain.query(point_filter(), Period.INTERVAL, Level.UNIT)
            genesis = chain.genesis
        finally:
            chain.close()
        readings = points_from(result, GwpSet(args.co2e) if args.co2e else None)
        if genesis is None and args.genesis:
            genesis = _genesis(args.genesis)
        declared = limits_from(genesis) if genesis is not None else None
    units = inputs.read_units(args.units, readings, declared)
    if args.readings:
        unknown = sorted(set(readings or {}) - {u.name for u in units})
        if unknown:
            raise InputError(f"{args.readings}: unit", f"readings of {', '.join(map(repr, unknown))}, which "
                             f"{args.units} does not name (a misspelt unit would silently not be fitted)")
    return units


def _chain_cap(args: argparse.Namespace, horizon_h: int) -> Any:
    import time

    from carbonlab.apps.chain import open_chain
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.forecast.series import parse_time
    from carbonlab.apps.planning.chaincap import chain_cap, year_bounds

    if args.cap_t is not None:
        raise InputError("--cap-t/--cap-from-chain", "give the cap as a number or from the chain, not both")
    if not (args.node or args.ledger):
        raise InputError("--cap-from-chain", "needs the chain: --node URL or --ledger FILE")
    start_s = parse_time("--start", args.start) if args.start else (int(time.time()) // 3600 + 1) * 3600
    if start_s % 3600:
        raise InputError("--start", f"must be a whole hour, got {args.start!r}")
    from datetime import UTC, datetime

    year = datetime.fromtimestamp(start_s, UTC).year
    chain = open_chain(node=args.node, ledger=args.ledger, genesis=None if args.node else args.genesis)
    try:
        balance = chain.balance(args.cap_from_chain, year)
        emitted = chain.emitted_t(args.cap_from_chain, year_bounds(year)[0], start_s)
    finally:
        chain.close()
    cap = chain_cap(balance, emitted, start_s=start_s, horizon_h=horizon_h, share=args.cap_share)
    if args.json:   # the derivation goes into the JSON answer
        return cap
    print(f"cap from the chain: {cap.company} {cap.year} holds {cap.holdings_t:,} t "
          "(allocated + bought - sold), "
          f"emitted {cap.emitted_t:,.3f} t so far, available {cap.available_t:,.3f} t; "
          f"{cap.share:.6f} of it for {horizon_h} h of {cap.hours_left} h left: cap {cap.cap_t:,.3f} t")
    return cap


def _genesis(path: Path) -> Any:
    from carbonlab.apps.errors import InputError
    from carbonlab.node.errors import NodeError
    from carbonlab.node.genesis import Genesis

    try:
        return Genesis.load(path)
    except NodeError as exc:
        raise InputError("--genesis", str(exc)) from None


def _dispatch(args: argparse.Namespace) -> int:
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.finite import check_finite
    from carbonlab.apps.planning import inputs
    from carbonlab.apps.planning.dispatch import DispatchProblem, solve_dispatch

    units = _units(args)
    demand = inputs.read_demand(args.demand)
    cap_t = args.cap_t
    from_chain = None
    if args.cap_from_chain:
        from_chain = _chain_cap(args, len(demand))
        cap_t = from_chain.cap_t
    else:
        for option in ("start", "cap_share"):
            if getattr(args, option) is not None:
                raise InputError(f"--{option.replace('_', '-')}", "goes with --cap-from-chain")
    problem = DispatchProblem(
        units,
        demand,
        carbon_price=args.carbon_price,
        cap_t=cap_t,
        segments=args.segments,
        time_limit_s=args.time_limit_s,
        initial_mw=inputs.read_initial_mw(args.units),
    )
    result = solve_dispatch(problem)
    check_finite(result, "result")
    if args.png:
        from carbonlab.apps import outfile
        from carbonlab.apps.plots import schedule_png

        outfile.write(args.png, schedule_png(result, demand), "--png")
    if args.json:
        out = dataclasses.asdict(result)
        out["fits"] = {u.name: dataclasses.asdict(u.fit) for u in units if u.fit is not None}
        if from_chain is not None:
            out["cap_from_chain"] = dataclasses.asdict(from_chain)
        print(json.dumps(out, indent=1))
        return 0
    for u in units:
        if u.fit is not None:
            print(
                f"fit {u.name}: CO2 t/h = {u.curve.a:.4g} + {u.curve.b:.4g} P + {u.curve.c:.4g} P^2 "
                f"({u.fit.points} intervals, RMSE {u.fit.rmse_t_per_mwh:.4f} t/MWh, R^2 {u.fit.r2:.4f})"
            )
    width = max(len(n) for n in result.units)
    print(f"{'hour':>{width}} " + " ".join(f"{h:>7d}" for h in range(len(demand))))
    for name, row in zip(result.units, result.schedule_mw, strict=True):
        print(f"{name:>{width}} " + " ".join(f"{p:7.1f}" for p in row))
    print(
        f"cost {result.cost:,.2f} (fuel {result.fuel_cost:,.2f}, no-load {result.no_load_cost:,.2f}, "
        f"start-up {result.startup_cost:,.2f}, carbon {result.carbon_cost:,.2f})"
    )
    print(
        f"emissions {result.emissions_t:,.3f} t CO2"
        + (
            f", cap {result.cap_t:,.3f} t "
            f"({'binding' if result.cap_binding else 'not binding'}), "
            f"shadow price {result.cap_shadow_price:.2f}"
            f" per t"
            if result.cap_t is not None
            else ""
        )
    )
    print(
        f"solved in {result.solve_s:.2f} s, "
        + ("optimal" if result.optimal else "time limit reached")
        + f" (MIP gap {result.mip_gap:.2e})"
    )
    return 0


def _pathway(args: argparse.Namespace) -> int:
    from carbonlab.apps.finite import check_finite
    from carbonlab.apps.planning import inputs
    from carbonlab.apps.planning.pathway import PathwayProblem, declining_caps, solve_pathway

    units = _units(args)
    options = inputs.read_options(args.units)
    first_year = inputs.read_years(args.demand)
    demand = inputs.read_demand(args.demand, "demand_mwh")
    caps = declining_caps(args.first_cap_t, args.decline, len(demand))
    result = solve_pathway(
        PathwayProblem(
            units,
            options,
            first_year,
            demand,
            caps,
            carbon_price=args.carbon_price,
            discount_rate=args.discount_rate,
        )
    )
    check_finite(result, "result")
    if args.json:
        print(json.dumps(dataclasses.asdict(result), indent=1))
        return 0
    print(f"{'year':>6} {'cap t':>12} {'CO2 t':>12}  " + " ".join(f"{n:>12}" for n in result.units))
    for y in result.years:
        print(
            f"{y.year:>6} {y.cap_t:12,.0f} {y.emissions_t:12,.0f}  "
            + " ".join(f"{g:12,.0f}" for g in y.generation_mwh)
        )
    print("actions: " + ("; ".join(result.actions) or "none"))
    print(f"discounted cost {result.cost:,.2f}")
    return 0
