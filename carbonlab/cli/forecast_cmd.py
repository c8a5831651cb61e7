"""`carbonlab forecast emissions|price|backtest`: the forecast module (docs/planning.md).

statsmodels, numpy and matplotlib are imported inside the functions that run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import integer, node_url, number, seed


def register(sub: Any) -> None:
    parser = sub.add_parser("forecast", help="emission and carbon price forecasts, and their backtests")
    fsub = parser.add_subparsers(dest="forecast_command", metavar="ACTION")

    e = fsub.add_parser("emissions", help="hourly CO2 to a month ahead and the year-end position")
    source = e.add_mutually_exclusive_group()
    source.add_argument("--records", type=Path, help="CSV time,company,plant,unit,co2_kg per interval")
    source.add_argument("--ledger", type=Path, help="a ledger file: the committed readings' hourly CO2")
    e.add_argument("--level", choices=("unit", "plant", "company"), default="unit")
    e.add_argument("--name", help="the unit, plant or company (default: each one at that level)")
    e.add_argument("--horizon-h", type=integer(), default=24 * 30, help="hours ahead (default a month, 720)")
    e.add_argument(
        "--allowance-t",
        type=number(),
        help="allowance still available for the year, t CO2 (a number until allowance records exist)",
    )
    e.add_argument("--price", type=number(),
                   help="carbon price per tonne for the shortfall's cost (default 0; with --position: the "
                   "chain's volume-weighted price of the last 30 days of transfers)")
    e.add_argument(
        "--penalty-multiple",
        type=number(),
        default=1.0,
        help="cost per tonne short as a multiple of the price (rule set; default 1: buy allowances)",
    )
    e.add_argument("--paths", type=integer(), default=2000, help="simulated paths to the year end")
    e.add_argument("--seed", type=seed, default=0, help="0..2^63-1 (default 0)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--png", type=Path, help="write the (first) forecast with its interval band as PNG")
    e.add_argument("--position", action="store_true",
                   help="with --level company: the year-end outlook against the company's allowances on "
                   "the chain (--node URL, or the --ledger) under --rules")
    e.add_argument("--rules", default="cn-ets", help="with --position: a shipped rule set or a .yaml file")
    e.add_argument("--node", type=node_url, help="a member's API URL: the committed readings' hourly CO2 "
                   "(without --records or --ledger) and, with --position, the allowance records")
    e.add_argument("--genesis", type=Path, help="with --ledger and --position: a trusted genesis the ledger "
                   "must match")
    e.set_defaults(func=_emissions)

    p = fsub.add_parser("price", help="carbon price forecast with intervals, for weeks or to a deadline")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", type=Path, help="CSV date,price,currency")
    src.add_argument("--generate", type=seed, metavar="SEED", help="the documented stochastic model, seeded")
    src.add_argument("--node", type=node_url,
                     help="a member's API URL: daily prices from the chain's transfer records")
    src.add_argument("--ledger", type=Path, help="a ledger file: daily prices from its transfer records")
    p.add_argument("--genesis", type=Path, help="with --ledger: a trusted genesis the ledger must match")
    p.add_argument("--currency", help="with --node/--ledger: the transfers' currency (when several)")
    p.add_argument("--days", type=integer(), default=500, help="business days to generate (with --generate)")
    p.add_argument("--write-csv", type=Path, help="also write the generated series as CSV")
    p.add_argument("--weeks", type=integer(), default=4)
    p.add_argument("--deadline", type=date.fromisoformat, help="forecast to this date (YYYY-MM-DD) instead")
    p.add_argument("--json", action="store_true")
    p.add_argument("--png", type=Path)
    p.set_defaults(func=_price)

    b = fsub.add_parser(
        "backtest", help="rolling-origin MAE, MAPE and ratio to seasonal-naive per forecaster"
    )
    b.add_argument("--seed", type=seed, default=42)
    b.add_argument("--units", type=integer(), default=2, help="emulated rig units (seeds seed, seed+1, ...)")
    b.add_argument("--days", type=integer(), default=14, help="days of emulated history per unit")
    b.add_argument("--holdout-days", type=integer(), default=5)
    b.add_argument("--horizon-h", type=integer(), default=24)
    b.add_argument("--price-days", type=integer(), default=500)
    b.add_argument("--price-holdout", type=integer(), default=100)
    b.add_argument("--price-horizon", type=integer(), default=5, help="business days ahead")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_backtest)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _emissions(args: argparse.Namespace) -> int:
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.finite import check_finite
    from carbonlab.apps.forecast import emissions, series

    if args.records:
        records = series.read_records(args.records)
    elif args.ledger:
        from carbonlab.apps.ledger import hourly_records

        records = hourly_records(args.ledger)
    elif args.node:
        from carbonlab.apps.chain import ApiChain
        from carbonlab.apps.ledger import record_filter, records_from
        from carbonlab.node.query import Level, Period

        api = ApiChain(args.node)
        try:
            records = records_from(api.query(record_filter(), Period.HOUR, Level.UNIT), f"--node {args.node}")
        finally:
            api.close()
    else:
        raise InputError("--records/--ledger/--node",
                         "give the readings: a CSV, a ledger file or a member's API")
    level = series.Level(args.level)
    _check_position_args(args, level)
    names = [args.name] if args.name else series.names(records, level)
    out: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        hourly = series.hourly(records, level, name)
        fc = emissions.forecast_hourly(hourly, args.horizon_h)
        if args.png and i == 0:
            from carbonlab.apps import outfile
            from carbonlab.apps.plots import emissions_png

            outfile.write(args.png, emissions_png(hourly.kg, hourly.first_hour_s, fc), "--png")
        entry: dict[str, Any] = {"level": level.value, "name": name, "forecast": dataclasses.asdict(fc)}
        if args.allowance_t is not None:
            entry["year_end"] = dataclasses.asdict(
                emissions.forecast_year_end(
                    hourly,
                    allowance_t=args.allowance_t,
                    price=args.price or 0.0,
                    penalty_multiple=args.penalty_multiple,
                    paths=args.paths,
                    seed=args.seed,
                )
            )
        if args.position:
            entry["outlook"] = dataclasses.asdict(_outlook(args, hourly, name))
        out.append(entry)
    check_finite(out, "forecast")
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for entry in out:
        f = entry["forecast"]
        start = datetime.fromtimestamp(f["first_s"], UTC).isoformat(timespec="minutes")
        total = sum(f["mean"]) / 1000
        print(
            f"{entry['level']} {entry['name']}: next {len(f['mean'])} h from {start}: {total:,.1f} t CO2 "
            f"(hourly {min(f['mean']) / 1000:,.2f}..{max(f['mean']) / 1000:,.2f} t, 90 % band "
            f"{sum(f['lo']) / 1000:,.1f}..{sum(f['hi']) / 1000:,.1f} t summed per hour)"
        )
        ye = entry.get("year_end")
        if ye:
            print(
                f"  year {ye['year']}: to date {ye['to_date_t']:,.1f} t, expected {ye['expected_t']:,.1f} t "
                f"(90 %: {ye['lo_t']:,.1f}..{ye['hi_t']:,.1f}) against {ye['allowance_t']:,.1f} t allowance: "
                f"shortfall P={ye['shortfall_probability']:.3f}, "
                f"expected {ye['expected_shortfall_t']:,.1f} t "
                f"(surplus {ye['expected_surplus_t']:,.1f} t), expected cost {ye['expected_cost']:,.2f}"
            )
        if "outlook" in entry:
            _print_outlook(entry["outlook"])
    return 0


def _check_position_args(args: argparse.Namespace, level: Any) -> None:
    from carbonlab.apps.errors import InputError

    if not args.position:
        if args.genesis:
            raise InputError("--genesis", "goes with --position (the allowance records' source)")
        if args.node and (args.records or args.ledger):
            raise InputError("--node", "with --records or --ledger goes with --position (the readings "
                             "come from one source)")
        return
    if level.value != "company":
        raise InputError("--position", "needs --level company (allowances are held by a company)")
    if not (args.node or args.ledger):
        raise InputError("--position", "needs the chain: --node URL, or readings from --ledger FILE")


def _outlook(args: argparse.Namespace, hourly: Any, company: str) -> Any:
    from carbonlab.apps.chain import open_chain
    from carbonlab.apps.forecast.service import chain_outlook

    chain = open_chain(node=args.node, ledger=None if args.node else args.ledger, genesis=args.genesis)
    try:
        return chain_outlook(hourly, chain, rules=args.rules, price=args.price, paths=args.paths,
                             seed=args.seed)
    finally:
        chain.close()


def _print_outlook(o: dict[str, Any]) -> None:
    print(f"  allowances on the chain for {o['year']}: allocated {o['allocated_t']:,} "
          f"+ bought {o['bought_t']:,} - sold {o['sold_t']:,} = {o['holdings_t']:,} t "
          f"(surrendered so far {o['surrendered_t']:,} t)")
    print(f"  under {o['rules']} at {o['price_per_t']:,.2f} {o['currency']}/t ({o['price_basis']}), "
          f"{o['paths']:,} paths: shortfall P={o['shortfall_probability']:.3f}, "
          f"expected {o['expected_shortfall_t']:,.1f} t (surplus {o['expected_surplus_t']:,.1f} t)")
    print(f"  expected cost {o['expected_cost']:,.2f} {o['currency']} = fine {o['expected_fine']:,.2f} + "
          f"tonnes still owed {o['expected_owed_value']:,.2f} "
          f"(90 %: {o['cost_lo']:,.2f}..{o['cost_hi']:,.2f}); "
          f"expected surplus value {o['expected_surplus_value']:,.2f}")


def _price(args: argparse.Namespace) -> int:
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.finite import check_finite
    from carbonlab.apps.forecast import price

    for option in ("genesis", "currency"):
        if getattr(args, option) is not None and not (args.node or args.ledger):
            raise InputError(f"--{option}", "goes with --node or --ledger (the chain's transfer records)")
    chain = None
    if args.csv:
        s = price.read_csv(args.csv)
    elif args.node or args.ledger:
        chain = _chain_prices(args)
        s = chain.series
    else:
        s = price.generate(args.generate, days=args.days)
        if args.write_csv:
            price.write_csv(s, args.write_csv)
    fc = price.forecast_price(s, weeks=args.weeks, deadline=args.deadline)
    check_finite(fc, "forecast")
    if args.png:
        from carbonlab.apps import outfile
        from carbonlab.apps.plots import price_png

        outfile.write(args.png, price_png(s, fc), "--png")
    if args.json:
        out = dataclasses.asdict(fc)
        if chain is not None:
            out["chain"] = {"transfers": chain.transfers, "zero_price": chain.zero_price,
                            "filled": chain.filled, "longest_gap": chain.longest_gap,
                            "volume_t": chain.volume_t}
        print(json.dumps(out, indent=1, default=str))
        return 0
    if chain is not None:
        _print_chain_prices(chain)
    print(f"last price {s.prices[-1]:.2f} {s.currency} on {s.dates[-1]}; {fc.method}")
    marks = sorted({min(len(fc.dates), k) - 1 for k in (5, 10, 20, len(fc.dates))})
    for k in marks:
        print(f"  {fc.dates[k]}: {fc.median[k]:.2f} (90 %: {fc.lo[k]:.2f}..{fc.hi[k]:.2f})")
    return 0


def _chain_prices(args: argparse.Namespace) -> Any:
    from carbonlab.apps.chain import open_chain
    from carbonlab.apps.forecast.service import chain_prices

    chain = open_chain(node=args.node, ledger=args.ledger, genesis=args.genesis)
    try:
        return chain_prices(chain, args.currency)
    finally:
        chain.close()


def _print_chain_prices(got: Any) -> None:
    s = got.series
    print(f"chain: {got.transfers} transfer(s) in {s.currency}, {len(s.dates)} daily prices "
          f"{s.dates[0]}..{s.dates[-1]} (volume-weighted per day)"
          + (f"; {got.zero_price} at price 0 left out" if got.zero_price else ""))
    if got.filled:
        print(f"  gaps: {len(got.filled)} business day(s) without a trade carried the previous price "
              f"forward (longest run {got.longest_gap})")


def edge_forecaster(history: Sequence[float], horizon: int) -> list[float]:
    """The gateway's per-meter Holt-Winters, as a backtest forecaster (history starts at hour 0)."""
    from carbonlab.gateway import forecast

    return forecast.fit(history, 0).forecast(horizon)


# Bounds that keep a backtest from running for hours: the rig's units are emulated a second at
# a time (two units x 14 days take most of a minute here).
MAX_UNITS = 10
MAX_DAYS = 60


def backtests(args: argparse.Namespace) -> list[Any]:
    from carbonlab.apps.errors import InputError
    from carbonlab.apps.forecast import price

    if not 1 <= args.units <= MAX_UNITS:
        raise InputError("--units", f"must be in 1..{MAX_UNITS}, got {args.units}")
    if not 2 <= args.days <= MAX_DAYS:
        raise InputError("--days", f"must be in 2..{MAX_DAYS}, got {args.days}")
    if not 1 <= args.holdout_days < args.days:
        raise InputError("--holdout-days", f"must be in 1..{args.days - 1} (below --days), "
                         f"got {args.holdout_days}")
    if not 1 <= args.horizon_h <= 24 * args.holdout_days:
        raise InputError("--horizon-h", f"must be in 1..{24 * args.holdout_days} (the held-out hours), "
                         f"got {args.horizon_h}")
    if not 1 <= args.price_horizon <= args.price_holdout < args.price_days:
        raise InputError("--price-horizon", "needs 1 <= --price-horizon <= --price-holdout < --price-days, "
                         f"got {args.price_horizon}, {args.price_holdout}, {args.price_days}")
    from carbonlab.apps.forecast.backtest import rolling_origin
    from carbonlab.apps.forecast.emissions import harmonic_point
    from carbonlab.bench.unit_hours import emulate

    def harmonic(history: Sequence[float], horizon: int) -> list[float]:
        return harmonic_point(list(history), horizon)[0]

    def log_arima(history: Sequence[float], horizon: int) -> list[float]:
        return price.log_arima(list(history), horizon)[0]

    out = []
    for i in range(args.units):
        unit = emulate(args.seed + i, args.days)
        out.append(
            rolling_origin(
                f"rig unit seed {args.seed + i} (hourly CO2 kg)",
                unit.co2_kg,
                {"harmonic-sarimax": harmonic, "gateway-holt-winters": edge_forecaster},
                season=24,
                train=24 * (args.days - args.holdout_days),
                horizon=args.horizon_h,
                step=24,
            )
        )
    s = price.generate(args.seed, days=args.price_days)
    out.append(
        rolling_origin(
            f"generated price seed {args.seed} ({s.currency}/t, business days)",
            s.prices,
            {"log-arima": log_arima},
            season=1,
            train=args.price_days - args.price_holdout,
            horizon=args.price_horizon,
            step=5,
        )
    )
    return out


def _backtest(args: argparse.Namespace) -> int:
    results = backtests(args)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
        return 0
    for r in results:
        print(f"{r.series}: {r.origins} origins, horizon {r.horizon}, season {r.season}")
        for s in r.scores:
            mape = "n/a" if math.isnan(s.mape_pct) else f"{s.mape_pct:.2f} %"
            verdict = "(baseline)" if s.forecaster == "seasonal-naive" else s.verdict
            print(
                f"  {s.forecaster:<22} MAE {s.mae:12.2f}  MAPE {mape:>9}  "
                f"ratio {s.ratio_to_baseline:5.3f}  {verdict}"
            )
    return 0
