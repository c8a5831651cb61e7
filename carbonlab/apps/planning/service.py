"""The planning module as a service: typed requests in, typed answers with PNG bytes out.

Theory of operation. The client's backend (issue 16) and Python callers use these functions;
the CLI (`carbonlab plan`) runs the same modules underneath. A request is either built in
Python (`DispatchRequest(problem=DispatchProblem(...))`) or read once from a parsed JSON body
(`dispatch_request(body)`), whose shape is the units JSON of docs/planning.md plus the
options below:

    {"units": [{"unit": "U1", "capacity_mw": 600, ...}], "demand_mw": [420, 450, ...],
     "carbon_price": 60, "cap_t": 9000, "segments": 4, "time_limit_s": 60, "png": true}

or, instead of `cap_t`, `"cap_from_chain": "acme", "start": "2026-03-01T00:00Z"` (and
`"cap_share"`): the company's allowance still available on the chain, pro rata to the horizon.

Every refusal is an `InputError` whose `where` is the request's dotted field
(`request.carbon_price`, `request.demand_mw[3]`, `request.units[1] (U2): min_mw`), so an HTTP
layer answers 4xx naming it; a problem that has no solution is an `InfeasibleError` naming
the constraint (`demand`, `cap`, `ramp`). Nothing here reads a file: the caller brings the
units (fitted from a ledger with `fitted_units`, or given whole), the demand, and for a cap
from the chain a `ChainSource` (`carbonlab.apps.chain.open_chain(node=URL)`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbonlab.apps import requests
from carbonlab.apps.chain import ChainSource
from carbonlab.apps.errors import InputError
from carbonlab.apps.planning import inputs
from carbonlab.apps.planning.bounds import MAX_MW, MAX_PRICE_PER_T, MAX_T
from carbonlab.apps.planning.chaincap import ChainCap, chain_cap, year_bounds
from carbonlab.apps.planning.dispatch import (
    MAX_HOURS,
    MAX_SEGMENTS,
    MAX_TIME_LIMIT_S,
    DispatchProblem,
    DispatchResult,
    solve_dispatch,
)
from carbonlab.apps.planning.units import FitReport, IntervalPoint, UnitLimits
from carbonlab.fields import above, spec


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchOptions:
    """The scalar fields of a dispatch request, with their rules."""

    carbon_price: float = spec(0.0, lo=0.0, hi=MAX_PRICE_PER_T)
    cap_t: float | None = spec(None, lo=0.0, hi=MAX_T)
    cap_from_chain: str | None = spec(None)            # a company: the cap from its allowances
    start: str | None = spec(None)                     # hour 0, ISO 8601 UTC (with cap_from_chain)
    cap_share: float | None = spec(None, lo=0.0, hi=1.0, check=lambda v: None if v is None or v > 0
                                   else f"must be above 0, got {v!r}")
    segments: int = spec(4, lo=1, hi=MAX_SEGMENTS)
    time_limit_s: float = spec(60.0, lo=0.0, hi=MAX_TIME_LIMIT_S, check=above(0.0))
    png: bool = spec(True)


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    problem: DispatchProblem
    png: bool = True
    cap_from_chain: ChainCap | None = None     # how the problem's cap_t was derived, if it was


@dataclass(frozen=True, slots=True)
class DispatchAnswer:
    result: DispatchResult
    fits: tuple[tuple[str, FitReport], ...]   # the units whose curve was fitted from readings
    png: bytes | None                          # the schedule as a stacked area, 1000 x 500
    cap_from_chain: ChainCap | None = None


def dispatch_request(
    body: Any,
    *,
    readings: Mapping[str, list[IntervalPoint]] | None = None,
    declared: Mapping[str, UnitLimits] | None = None,
    chain: ChainSource | None = None,
) -> DispatchRequest:
    """A request from a parsed JSON body; `readings` fit the curves of the units they name,
    `declared` (genesis's limits) stand in for a unit that gives none of its own, `chain` (a
    ledger file or the member's API, `apps/chain.py`) gives the cap when the body names
    `cap_from_chain` (`apps/planning/chaincap.py`)."""
    options = requests.build(DispatchOptions, body, allowed=("units", "demand_mw"))
    raw_units = inputs.unit_list(requests.member(body, "units"), "request.units")
    units = inputs.units_from_json(raw_units, "request.units", readings, declared)
    demand = requests.numbers(requests.member(body, "demand_mw"), "request.demand_mw", hi=MAX_MW,
                              most=MAX_HOURS)
    cap_t, derived = options.cap_t, None
    if options.cap_from_chain is not None:
        derived = _chain_cap(options, len(demand), chain)
        cap_t = derived.cap_t
    elif options.start is not None or options.cap_share is not None:
        raise InputError("request.start" if options.start is not None else "request.cap_share",
                         "goes with request.cap_from_chain")
    try:
        problem = DispatchProblem(
            units, demand, carbon_price=options.carbon_price, cap_t=cap_t,
            initial_mw=inputs.initial_mw_from_json(raw_units, "request.units"),
            segments=options.segments, time_limit_s=options.time_limit_s)
    except InputError as exc:
        raise InputError(_request_field(exc.where), exc.problem) from None
    return DispatchRequest(problem, options.png, derived)


def _request_field(where: str) -> str:
    """The problem's field (`unit U1: initial_mw`, `demand hour 3`, `units`) as the request's."""
    if where.startswith("request"):
        return where
    unit = re.fullmatch(r"unit (.+): (\w+)", where)
    if unit:
        return f"request.units ({unit[1]}): {unit[2]}"
    hour = re.fullmatch(r"demand hour (\d+)", where)
    if hour:
        return f"request.demand_mw[{hour[1]}]"
    return f"request.{where}"


def _chain_cap(options: DispatchOptions, horizon_h: int, chain: ChainSource | None) -> ChainCap:
    from carbonlab.apps.forecast.series import parse_time

    if options.cap_t is not None:
        raise InputError("request.cap_t", "give the cap as a number or cap_from_chain, not both")
    if chain is None:
        raise InputError("request.cap_from_chain", "needs the chain (a ledger file or a member's API)")
    if options.start is None:
        raise InputError("request.start", "is required with cap_from_chain (hour 0, ISO 8601 UTC)")
    start_s = parse_time("request.start", options.start)
    if start_s % 3600:
        raise InputError("request.start", f"must be a whole hour, got {options.start!r}")
    company = options.cap_from_chain
    assert company is not None
    year = datetime.fromtimestamp(start_s, UTC).year
    balance = chain.balance(company, year)
    emitted = chain.emitted_t(company, year_bounds(year)[0], start_s)
    try:
        return chain_cap(balance, emitted, start_s=start_s, horizon_h=horizon_h, share=options.cap_share)
    except InputError as exc:
        raise InputError(f"request.{exc.where.lstrip('-').replace('-', '_')}", exc.problem) from None


def dispatch(request: DispatchRequest) -> DispatchAnswer:
    """Solve; the schedule's PNG when asked."""
    result = solve_dispatch(request.problem)
    png = None
    if request.png:
        from carbonlab.apps.plots import schedule_png

        png = schedule_png(result, request.problem.demand_mw)
    fits = tuple((u.name, u.fit) for u in request.problem.units if u.fit is not None)
    return DispatchAnswer(result, fits, png, request.cap_from_chain)


def fitted_units(ledger: Path, *, company: str | None = None) -> tuple[
        dict[str, list[IntervalPoint]], dict[str, UnitLimits]]:
    """The readings and limits a ledger file gives (`dispatch_request`'s `readings`, `declared`):
    each unit's committed (CO2 t, MWh) intervals and the limits genesis's companies declare."""
    from carbonlab.apps.ledger import unit_limits, unit_points

    return unit_points(ledger, company=company), unit_limits(ledger, company=company)
