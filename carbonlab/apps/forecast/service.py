"""The forecast module as a service: typed requests in, typed answers with PNG bytes out.

Theory of operation. The client's backend (issue 16) and Python callers use these functions;
the CLI (`carbonlab forecast`) runs the same modules underneath. A request is built in Python
or read once from a parsed JSON body (`emissions_request(body)`, `price_request(body)`); every
refusal is an `InputError` whose `where` is the request's dotted field (`request.horizon_h`),
so an HTTP layer answers 4xx naming it. The data (interval records, a price series) is the
caller's: read from a ledger (`carbonlab.apps.ledger.hourly_records`), a CSV, or the chain
(`chain_prices`; the outlook reads the company's allowances from a `ChainSource`).

    emissions: {"level": "unit", "name": "U1", "horizon_h": 720, "allowance_t": 3.2e6,
                "price": 80, "penalty_multiple": 5, "paths": 2000, "seed": 0, "png": true}
               or {"level": "company", "name": "acme", "position": true, "rules": "cn-ets"}
               with a `ChainSource` (`carbonlab.apps.chain.open_chain(node=URL)`)
    price:     {"weeks": 4} or {"deadline": "2026-12-31"}, and "png"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from carbonlab.apps import requests
from carbonlab.apps.chain import ChainSource
from carbonlab.apps.compliance.model import MAX_T
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast import emissions as em
from carbonlab.apps.forecast import price as pr
from carbonlab.apps.forecast.chainprice import ChainPrices
from carbonlab.apps.forecast.outlook import ChainOutlook
from carbonlab.apps.forecast.series import HourlySeries, IntervalRecord, Level, hourly
from carbonlab.fields import spec


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must be a date YYYY-MM-DD, got {text!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmissionsRequest:
    level: Level = spec(Level.UNIT)
    name: str = spec()
    horizon_h: int = spec(720, lo=1, hi=em.MAX_HORIZON_H)
    allowance_t: float | None = spec(None, lo=0.0, hi=MAX_T)   # None: no year-end position
    price: float | None = spec(None, lo=0.0, hi=pr.MAX_PRICE)  # None: 0, or the chain's price
    position: bool = spec(False)            # the outlook against the company's allowances on the chain
    rules: str = spec("cn-ets")             # the rule set of the outlook (a shipped name)
    penalty_multiple: float = spec(1.0, lo=0.0, hi=em.MAX_PENALTY_MULTIPLE)
    paths: int = spec(2000, lo=1, hi=em.MAX_PATHS)
    seed: int = spec(0, lo=0, hi=2**63 - 1)    # the CLI's --seed rule too (cli/argtypes.py)
    png: bool = spec(True)


@dataclass(frozen=True, slots=True)
class EmissionsAnswer:
    series: HourlySeries
    forecast: em.Forecast
    year_end: em.YearEnd | None
    png: bytes | None     # the last two weeks and the forecast with its band, 1000 x 500
    outlook: ChainOutlook | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceRequest:
    weeks: int = spec(4, lo=1, hi=pr.MAX_AHEAD // 5)
    deadline: date | None = spec(None, read=_day)   # instead of weeks
    png: bool = spec(True)


@dataclass(frozen=True, slots=True)
class PriceAnswer:
    forecast: pr.PriceForecast
    png: bytes | None


def emissions_request(body: object) -> EmissionsRequest:
    return requests.build(EmissionsRequest, body)


def price_request(body: object) -> PriceRequest:
    return requests.build(PriceRequest, body)


def emissions(records: Sequence[IntervalRecord], request: EmissionsRequest,
              chain: ChainSource | None = None) -> EmissionsAnswer:
    """The hourly forecast of one unit, plant or company, its year-end position when the
    request gives an allowance, and the outlook against the chain (`position`, a company)."""
    if request.position:
        if request.level is not Level.COMPANY:
            raise InputError("request.position", "needs level company (allowances are held by a company)")
        if chain is None:
            raise InputError("request.position", "needs the chain (a ledger file or a member's API)")
    series = hourly(records, request.level, request.name)
    fc = em.forecast_hourly(series, request.horizon_h)
    year_end = None
    if request.allowance_t is not None:
        year_end = em.forecast_year_end(series, allowance_t=request.allowance_t, price=request.price or 0.0,
                                        penalty_multiple=request.penalty_multiple, paths=request.paths,
                                        seed=request.seed)
    png = None
    if request.png:
        from carbonlab.apps.plots import emissions_png

        png = emissions_png(series.kg, series.first_hour_s, fc)
    outlook = None
    if request.position:
        assert chain is not None
        outlook = chain_outlook(series, chain, rules=request.rules, price=request.price,
                                paths=request.paths, seed=request.seed, where="request.rules")
    return EmissionsAnswer(series, fc, year_end, png, outlook)


def chain_outlook(series: HourlySeries, chain: ChainSource, *, rules: str, price: float | None,
                  paths: int, seed: int, where: str = "--rules") -> ChainOutlook:
    """The year-end outlook of a company's series against its allowances on the chain, under
    the rule set `rules`, at `price` or else the chain's recent volume-weighted price."""
    from carbonlab.apps.compliance.errors import RuleSetError
    from carbonlab.apps.compliance.ruleset import load_named
    from carbonlab.apps.forecast.chainprice import recent_price
    from carbonlab.apps.forecast.outlook import outlook

    try:
        ruleset = load_named(rules)
    except RuleSetError as exc:
        raise InputError(where, str(exc)) from None
    sim = em.year_end_paths(series, paths=paths, seed=seed)
    balance = chain.balance(series.name, sim.year)
    if price is not None:
        price_per_t, basis = price, "given"
    else:
        price_per_t, basis = recent_price(chain.transfers(), ruleset.currency)
    return outlook(sim.totals_t, balance, ruleset, price_per_t=price_per_t, price_basis=basis)


def chain_prices(chain: ChainSource, currency: str | None = None) -> ChainPrices:
    """The volume-weighted daily prices of the chain's transfers (`chainprice.py`); its
    `series` goes to `price()`."""
    from carbonlab.apps.forecast.chainprice import daily_prices

    return daily_prices(chain.transfers(), currency=currency)


def price(series: pr.PriceSeries, request: PriceRequest) -> PriceAnswer:
    fc = pr.forecast_price(series, weeks=request.weeks, deadline=request.deadline)
    png = None
    if request.png:
        from carbonlab.apps.plots import price_png

        png = price_png(series, fc)
    return PriceAnswer(fc, png)
