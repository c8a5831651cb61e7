"""What the application pages read: the apps modules fed with data fetched from the member's API.

Theory of operation. The client talks to its own member's node only over HTTP. The apps
modules take typed inputs (`IntervalRecord`, `IntervalPoint`, `UnitLimits`, a `ReportSource`);
this module fetches the node's answers (`/v1/emissions/query`, the same query
`carbonlab emissions query --node` sends, read back with `QueryResult.from_json`, which names a
malformed field), turns them into those inputs with `apps.ledger`'s own row converters (so a
page counts exactly what the CLI counts from a ledger file), and calls the module. Genesis is
the client's own copy (given at start), never read from the node.

Every function here blocks (HTTP with a timeout, HiGHS, statsmodels, matplotlib): the pages run
them through `offload`, a worker thread with a deadline, so the event loop that serves the live
pages never waits on them. A computation that outlives its deadline is abandoned (its thread
finishes in the background; a thread cannot be killed) and the page answers 504 naming it.

Errors: `NodeUnavailable` (the member's API did not answer, or answered something malformed:
HTTP 502 naming the URL); the apps modules' own `InputError`/`InfeasibleError` pass through with
the field or constraint they name (HTTP 400/422, `pages` map them).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx

from carbonlab import jsonfile
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.backtest import Backtest
from carbonlab.apps.forecast.emissions import Forecast, YearEnd
from carbonlab.apps.forecast.price import PriceForecast, PriceSeries
from carbonlab.apps.forecast.series import IntervalRecord
from carbonlab.apps.ledger import limits_from, point_filter, points_from, record_filter, records_from
from carbonlab.apps.planning.dispatch import DispatchResult
from carbonlab.apps.planning.pathway import PathwayResult
from carbonlab.apps.planning.units import IntensityCurve, UnitModel
from carbonlab.errors import CarbonlabError
from carbonlab.jsonfile import JsonFileError
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.query import EmissionsFilter, Level, Period, QueryResult

T = TypeVar("T")

HTTP_TIMEOUT_S = 30.0          # one call to the member's API
COMPUTE_TIMEOUT_S = 120.0      # one page's computation (a report build of a year, a forecast)


class NodeUnavailable(CarbonlabError):
    """The member's API did not answer in time, refused, or answered something that is not what
    the route promises; `url` names the call. The node's (or the network's) fault, not the user's."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url, self.problem = url, problem


class ComputeTimeout(CarbonlabError):
    """A page's computation ran past its deadline (`what` names it); the page answers 504."""

    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(f"{what} did not finish within {timeout_s:g} s")
        self.what, self.timeout_s = what, timeout_s


async def offload(what: str, fn: Callable[[], T], timeout_s: float = COMPUTE_TIMEOUT_S) -> T:
    """`fn()` in a worker thread, abandoned after `timeout_s` (`ComputeTimeout`)."""
    with anyio.move_on_after(timeout_s):
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    raise ComputeTimeout(what, timeout_s)


class NodeReader:
    """Blocking GETs of the member's API, answers parsed as JSON; every failure a `NodeUnavailable`."""

    def __init__(self, url: str, genesis: Genesis, *, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.genesis = genesis
        self.timeout_s = timeout_s

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        where = f"{self.url}{path}"
        try:
            answer = httpx.get(where, params=params, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise NodeUnavailable(where, f"no answer ({type(exc).__name__}: {exc})") from None
        if answer.status_code != 200:
            raise NodeUnavailable(where, f"HTTP {answer.status_code}: {answer.text[:200]}")
        try:
            return jsonfile.loads(answer.content)
        except JsonFileError as exc:
            raise NodeUnavailable(where, f"the answer is not JSON ({exc.problem})") from None

    def query(self, flt: EmissionsFilter, period: Period, level: Level) -> QueryResult:
        params = {**flt.params(), "period": period.value, "level": level.value}
        answer = self.get("/v1/emissions/query", params)
        try:
            return QueryResult.from_json(answer)
        except SchemaError as exc:
            raise NodeUnavailable(f"{self.url}/v1/emissions/query", f"not a query result ({exc})") from None


def company_ids(genesis: Genesis) -> list[str]:
    """The companies a page may be asked about: genesis's, else those its meters name."""
    return [c.id for c in genesis.companies] or sorted({m.company for m in genesis.meters})


def check_company(genesis: Genesis, company: str) -> str:
    known = company_ids(genesis)
    if company not in known:
        raise InputError("company", f"{company!r} is not a company of genesis; known: {', '.join(known)}")
    return company


def hourly_records(reader: NodeReader, company: str, since: int | None = None) -> list[IntervalRecord]:
    return records_from(reader.query(record_filter(company, since), Period.HOUR, Level.UNIT), "company")


# ---- planning -----------------------------------------------------------------------------------


def unit_models(reader: NodeReader, company: str, fuel_cost_per_mwh: float) -> tuple[UnitModel, ...]:
    """The company's units that genesis gives limits for, each with its CO2 curve fitted from the
    chain's interval readings (`fit_curve`: needs three distinct loads)."""
    from carbonlab.apps.planning.units import fit_curve

    limits = limits_from(reader.genesis, company)
    if not limits:
        raise InputError("company", f"genesis declares no unit limits (capacity, min, ramp) for {company}")
    points = points_from(reader.query(point_filter(company), Period.INTERVAL, Level.UNIT))
    models = []
    for name, lim in sorted(limits.items()):
        if name not in points:
            raise InputError("company", f"unit {name} of {company} has no committed readings with a load yet "
                             "(its CO2 curve is fitted from them)")
        curve, fit = fit_curve(points[name], unit=name)
        models.append(UnitModel(lim, curve, fuel_cost_per_mwh, fit=fit))
    return tuple(models)


@dataclass(frozen=True, slots=True)
class DispatchView:
    result: DispatchResult
    demand_mw: tuple[float, ...]
    png: bytes


def dispatch(units: tuple[UnitModel, ...], demand_mw: tuple[float, ...], carbon_price: float,
             cap_t: float | None, time_limit_s: float) -> DispatchView:
    from carbonlab.apps.planning.dispatch import DispatchProblem, solve_dispatch
    from carbonlab.apps.plots import schedule_png

    result = solve_dispatch(DispatchProblem(units, demand_mw, carbon_price=carbon_price, cap_t=cap_t,
                                            time_limit_s=time_limit_s))
    return DispatchView(result, demand_mw, schedule_png(result, demand_mw))


def pathway(units: tuple[UnitModel, ...], first_year: int, demand_mwh: tuple[float, ...], first_cap_t: float,
            decline: float, carbon_price: float) -> PathwayResult:
    """A pathway with no retire/retrofit options priced (the console has no per-unit option form):
    each unit may keep running; the caps decline by `decline` a year."""
    from carbonlab.apps.planning.pathway import PathwayProblem, UnitOptions, declining_caps, solve_pathway

    options = tuple(UnitOptions(u.name, 0.0, 0.0, None, 0.0, 0.85) for u in units)
    caps = declining_caps(first_cap_t, decline, len(demand_mwh))
    return solve_pathway(PathwayProblem(units, options, first_year, demand_mwh, caps,
                                        carbon_price=carbon_price))


# ---- forecasts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmissionsView:
    forecast: Forecast
    year_end: YearEnd | None
    backtest: Backtest | None
    png: bytes
    year_end_note: str = ""      # why there is no year end (too little history)


def emissions_forecast(records: list[IntervalRecord], company: str, horizon_h: int, allowance_t: float | None,
                       price: float, penalty_multiple: float) -> EmissionsView:
    """The company's hourly CO2 forecast, its year end against `allowance_t`, and a rolling-origin
    backtest of the forecaster against seasonal-naive on the same history (when a week is there)."""
    from carbonlab.apps.forecast import emissions, series
    from carbonlab.apps.forecast.backtest import rolling_origin
    from carbonlab.apps.plots import emissions_png

    hourly = series.hourly(records, series.Level.COMPANY, company)
    fc = emissions.forecast_hourly(hourly, horizon_h)
    year_end, note = None, ""
    if allowance_t is not None:
        try:
            year_end = emissions.forecast_year_end(hourly, allowance_t=allowance_t, price=price,
                                                   penalty_multiple=penalty_multiple)
        except InputError as exc:
            if exc.where != "history":
                raise
            note = exc.problem          # the hourly forecast stands; the year end waits for history
    backtest = None
    if len(hourly.kg) >= 24 * 7:     # held out: up to a week, keeping five days to train on
        holdout = min(24 * 7, len(hourly.kg) - 24 * 5)
        def harmonic(history: Any, horizon: int) -> list[float]:
            return emissions.harmonic_point(list(history), horizon)[0]

        backtest = rolling_origin(f"{company} hourly CO2 kg (chain)", hourly.kg,
                                  {"harmonic-sarimax": harmonic}, season=24, train=len(hourly.kg) - holdout,
                                  horizon=24, step=24)
    png = emissions_png(hourly.kg, hourly.first_hour_s, fc)
    return EmissionsView(fc, year_end, backtest, png, note)


@dataclass(frozen=True, slots=True)
class PriceView:
    series: PriceSeries
    forecast: PriceForecast
    source: str
    png: bytes


def price_series_csv(data: bytes) -> PriceSeries:
    """A `date,price,currency` CSV upload, read by the forecast module's own reader."""
    from carbonlab.apps.forecast.price import read_csv

    with tempfile.TemporaryDirectory(prefix="carbonlab-client-") as tmp:
        path = Path(tmp) / "prices.csv"
        path.write_bytes(data)
        try:
            return read_csv(path)
        except InputError as exc:    # name the upload, not the temporary file
            raise InputError(exc.where.replace(str(path), "csv"), exc.problem) from None
        except UnicodeDecodeError:
            raise InputError("csv", "not UTF-8 text") from None


def daily_prices(trades: list[tuple[int, float, str]]) -> PriceSeries:
    """Daily volume-blind mean prices of (unix seconds, price per t, currency) transfers: the
    chain's trading-centre records. One currency only (the most traded one is kept)."""
    if not trades:
        raise InputError("prices", "no transfer with a price is on the chain yet; upload a CSV instead")
    currencies = [c for _, _, c in trades]
    currency = max(set(currencies), key=currencies.count)
    days: dict[Any, list[float]] = {}
    for t, p, c in trades:
        if c == currency and math.isfinite(p) and p > 0:
            days.setdefault(datetime.fromtimestamp(t, UTC).date(), []).append(p)
    dates = tuple(sorted(days))
    if len(dates) < 30:
        raise InputError("prices", f"the chain holds prices on {len(dates)} days; a forecast needs "
                         "at least 30 (upload a CSV instead)")
    return PriceSeries(dates, tuple(math.fsum(days[d]) / len(days[d]) for d in dates), currency)


def price_forecast(series: PriceSeries, weeks: int, source: str) -> PriceView:
    from carbonlab.apps.forecast.price import forecast_price
    from carbonlab.apps.plots import price_png

    try:
        fc = forecast_price(series, weeks=weeks)
    except InputError as exc:       # the CLI's option is the console's form field
        raise InputError(exc.where.removeprefix("--"), exc.problem) from None
    return PriceView(series, fc, source, price_png(series, fc))


def curve_text(curve: IntensityCurve) -> str:
    return f"CO2 t/h = {curve.a:.4g} + {curve.b:.4g} P + {curve.c:.4g} P²"

