"""Carbon price: a CSV reader, a seeded generator, and a forecast with intervals.

Theory of operation.
- Data: daily prices `date,price,currency` (one currency per file), e.g. exported from the
  trading centre's transfer records (on the chain once issue 14's transfers exist).
- Generator (`generate`, the shipped test and backtest data; no public series ships, since
  none whose licence allows redistribution is available offline here): on business days,
  the log price x follows a mean-reverting Ornstein-Uhlenbeck process around a level that
  itself drifts, plus compound-Poisson jumps (a Merton-style jump diffusion):
  `x[t+1] = x[t] + kappa*(m[t] - x[t]) + sigma*e[t] + J[t]`, `m[t+1] = m[t] + mu + eta*u[t]`,
  e, u ~ N(0,1), J = N(jump_mean, jump_sd) with probability `jump_p`, all from one
  `numpy.random.default_rng(seed)`, so a seed gives the same series.
- Forecast (`forecast_price`): ARIMA(1,1,0) with drift on the log price (statsmodels
  SARIMAX, `trend="c"`: SARIMAX puts the trend in the equation of the differenced series, so a
  constant there is a drift, a log price growing linearly with the horizon; `trend="t"`, used
  before 2026-12-05, was a time trend in the differences, a quadratic log price whose median grew
  faster with every step: 152 million after 1,300 steps of a steadily growing series);
  mean and interval are transformed back with exp (the interval is then
  asymmetric, as a price's should be; the point is the median). One model step is one step
  of the series' own cadence (`Cadence.of`: business days, calendar days, weeks or months,
  from the median gap between its dates), so a weekly CSV is forecast in weeks, not in
  business days that would stretch its dynamics five-fold. Horizon: `weeks` of that cadence,
  or its steps to a deadline date (the compliance deadline).
"""

from __future__ import annotations

import calendar
import csv
import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from carbonlab.apps.csvfile import rows as csv_rows
from carbonlab.apps.errors import InputError
from carbonlab.checks import shown


@dataclass(frozen=True, slots=True)
class PriceSeries:
    dates: tuple[date, ...]
    prices: tuple[float, ...]
    currency: str


class Cadence(StrEnum):
    """How often a price series has a price: what one step of its model is."""

    BUSINESS_DAY = "business day"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @classmethod
    def of(cls, dates: tuple[date, ...] | list[date]) -> Cadence:
        """From the median gap between successive dates: up to 4 days a daily series (calendar
        days when a tenth or more of its dates fall on a weekend, else business days: a trading
        week's Friday-to-Monday gap is 3), 5-10 days weekly, 25-35 days monthly; InputError
        naming `date` for any other spacing (say, one price a quarter)."""
        gaps = sorted((b - a).days for a, b in itertools.pairwise(dates))
        if not gaps:
            return cls.BUSINESS_DAY
        median = gaps[len(gaps) // 2]
        if median <= 4:
            weekend = sum(d.weekday() >= 5 for d in dates)
            return cls.DAY if weekend * 10 >= len(dates) else cls.BUSINESS_DAY
        if 5 <= median <= 10:
            return cls.WEEK
        if 25 <= median <= 35:
            return cls.MONTH
        raise InputError("date", f"prices {median} days apart (the median gap): a forecast needs "
                         "them daily, on business days, weekly or monthly")

    def per_week(self) -> float:
        return {Cadence.BUSINESS_DAY: 5.0, Cadence.DAY: 7.0, Cadence.WEEK: 1.0,
                Cadence.MONTH: 12 / 52}[self]

    def after(self, last: date, until: date) -> list[date]:
        """The steps of this cadence after `last`, up to and including `until`."""
        return list(itertools.takewhile(lambda d: d <= until, self.steps(last)))

    def steps(self, last: date) -> Iterator[date]:
        """The dates of this cadence after `last`, one after another (each from the one before
        for business days, so `n` of them cost n steps, not n^2 / 2), ending at 9999-12-31, the
        last date there is: a caller that needs more says so, naming its own input."""
        if self is Cadence.BUSINESS_DAY:
            d = last
            while d < date.max:
                d += timedelta(days=1)
                if d.weekday() < 5:
                    yield d
            return
        for k in itertools.count(1):
            found = self._nth(last, k)
            if found is None:
                return
            yield found

    def step(self, last: date, k: int) -> date:
        """The `k`th date of this cadence after `last`; InputError naming `date` past 9999-12-31."""
        found = (next(itertools.islice(self.steps(last), k - 1, None), None) if self is Cadence.BUSINESS_DAY
                 else self._nth(last, k))
        if found is None:
            raise InputError("date", f"step {k} of a {self} after {last} is past {date.max}, the last date "
                                     "there is")
        return found

    def _nth(self, last: date, k: int) -> date | None:
        """The `k`th date of a day, week or month cadence after `last`; None past 9999-12-31."""
        try:
            if self is Cadence.DAY:
                return last + timedelta(days=k)
            if self is Cadence.WEEK:
                return last + timedelta(weeks=k)
            month = last.month - 1 + k
            year, month = last.year + month // 12, month % 12 + 1
            return date(year, month, min(last.day, _month_days(year, month)))
        except (OverflowError, ValueError):      # timedelta past date.max; date() of year 10000
            return None


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]      # December 9999 too (no "first of the next")


@dataclass(frozen=True, slots=True)
class PriceForecast:
    dates: tuple[date, ...]
    median: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    level: float
    currency: str
    method: str
    cadence: Cadence = Cadence.BUSINESS_DAY


@dataclass(frozen=True, slots=True)
class PriceModel:
    start_price: float = 80.0
    kappa: float = 0.02
    sigma: float = 0.018
    mu: float = 0.0002
    eta: float = 0.004
    jump_p: float = 0.01
    jump_mean: float = -0.03
    jump_sd: float = 0.08


def business_days(first: date, n: int) -> list[date]:
    """`n` business days from `first` (itself when it is one)."""
    return list(itertools.islice(Cadence.BUSINESS_DAY.steps(first - timedelta(days=1)), n))


def generate(
    seed: int,
    *,
    start: date = date(2024, 1, 2),
    days: int = 500,
    model: PriceModel = PriceModel(),
    currency: str = "CNY",
) -> PriceSeries:
    import numpy as np

    if not 30 <= days <= MAX_DAYS:
        raise InputError("--days", f"must be in 30..{MAX_DAYS} business days, got {days}")
    rng = np.random.default_rng(seed)
    x = m = math.log(model.start_price)
    prices = []
    for _ in range(days):
        prices.append(round(math.exp(x), 2))
        jump = rng.normal(model.jump_mean, model.jump_sd) if rng.random() < model.jump_p else 0.0
        x = x + model.kappa * (m - x) + model.sigma * rng.standard_normal() + jump
        m = m + model.mu + model.eta * rng.standard_normal()
    return PriceSeries(tuple(business_days(start, days)), tuple(prices), currency)


def write_csv(series: PriceSeries, path: Path) -> None:
    from carbonlab.apps import outfile

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["date", "price", "currency"])
    for d, p in zip(series.dates, series.prices, strict=True):
        w.writerow([d.isoformat(), f"{p:.2f}", series.currency])
    outfile.write(path, buf.getvalue().encode("utf-8"), "--write-csv")


def read_csv(path: Path) -> PriceSeries:
    dates: list[date] = []
    prices: list[float] = []
    currencies: set[str] = set()
    for i, row in enumerate(csv_rows(path, ("date", "price", "currency")), start=2):
        where = f"{path} line {i}"
        try:
            d = date.fromisoformat(row["date"].strip())
        except ValueError:
            raise InputError(f"{where}: date", f"must be YYYY-MM-DD, got {row['date']!r}") from None
        try:
            p = float(row["price"])
        except ValueError:
            raise InputError(f"{where}: price", f"must be a number, got {row['price']!r}") from None
        problem = price_problem(p, prices[-1] if prices else None)
        if problem is not None:
            raise InputError(f"{where}: price", f"{problem}, got {shown(row['price'])}")
        if not (row["currency"] or "").strip():
            raise InputError(f"{where}: currency", "is empty")
        if dates and d <= dates[-1]:
            raise InputError(f"{where}: date", f"{d} does not follow {dates[-1]} (dates must increase)")
        dates.append(d)
        prices.append(p)
        currencies.add(row["currency"].strip())
    if len(currencies) > 1:
        raise InputError(f"{path}: currency", f"one currency per file, got {sorted(currencies)}")
    if len(prices) < 30:
        raise InputError(str(path), f"needs at least 30 prices to forecast, got {len(prices)}")
    try:
        Cadence.of(dates)
    except InputError as exc:
        raise InputError(f"{path}: {exc.where}", exc.problem) from None
    return PriceSeries(tuple(dates), tuple(prices), currencies.pop())


def log_arima(
    history: list[float] | tuple[float, ...], horizon: int, level: float = 0.9
) -> tuple[list[float], list[float], list[float]]:
    """(median, lo, hi) of the next `horizon` prices."""
    import warnings

    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.log(np.asarray(history, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = SARIMAX(y, order=(1, 1, 0), trend="c").fit(disp=False, maxiter=100)
        pred = res.get_forecast(horizon)
        ci = pred.conf_int(alpha=1 - level)
    return (
        [float(math.exp(v)) for v in pred.predicted_mean],
        [float(math.exp(v)) for v in ci[:, 0]],
        [float(math.exp(v)) for v in ci[:, 1]],
    )


MAX_PRICE = 1e6             # per tonne: beyond it the forecast's exp() overflows to no answer
# a hundredth of the currency unit per tonne: a price of 1e-300 (above 0) put a log price of -690
# into the model and a 90 % band of 0.00..4e27 out of it
MIN_PRICE = 0.01
MAX_STEP = 10.0              # a price more than tenfold above or below the one before is a typo


def price_problem(price: float, previous: float | None) -> str | None:
    """What is wrong with one price of a series (None: nothing): outside [MIN_PRICE, MAX_PRICE],
    or more than MAX_STEP times above or below the price before it (an outlier the log-ARIMA
    would take for volatility, widening every band). The one rule of a CSV's lines and of any
    series `forecast_price` is given (the chain's daily prices, a service's)."""
    if not (math.isfinite(price) and MIN_PRICE <= price <= MAX_PRICE):
        return f"must be a number in [{MIN_PRICE:g}, {MAX_PRICE:g}] per tonne"
    if previous is not None and not previous / MAX_STEP <= price <= previous * MAX_STEP:
        return (f"{price:g} is more than {MAX_STEP:g} times above or below the price before it "
                f"({previous:g}): an outlier or a typo")
    return None
MAX_DAYS = 20_000            # business days a generated series may hold (about 77 years)
MAX_AHEAD = 5 * 52 * 5       # business days a forecast may reach (about five years)
MAX_AHEAD_DAYS = 7 * MAX_AHEAD // 5   # the same in calendar days, for every cadence


def forecast_price(
    series: PriceSeries, *, weeks: int = 4, deadline: date | None = None, level: float = 0.9
) -> PriceForecast:
    """The next prices, one per step of the series' own cadence: `weeks` ahead, or to
    `deadline`."""
    last = series.dates[-1]
    cadence = Cadence.of(series.dates)
    for i, (d, p) in enumerate(zip(series.dates, series.prices, strict=True)):
        problem = price_problem(p, series.prices[i - 1] if i else None)
        if problem is not None:
            raise InputError(f"price on {d}", problem)
    if deadline is not None:
        if deadline <= last:
            raise InputError("--deadline", f"{deadline} is not after the last price's date {last}")
        if (deadline - last).days > MAX_AHEAD_DAYS:
            raise InputError("--deadline", f"{deadline} is more than {MAX_AHEAD} business days after "
                             f"the last price's date {last}")
        days = cadence.after(last, deadline)
    else:
        if not 1 <= weeks <= MAX_AHEAD // 5:
            raise InputError("--weeks", f"must be in 1..{MAX_AHEAD // 5}, got {weeks}")
        wanted = max(1, round(weeks * cadence.per_week()))
        days = list(itertools.islice(cadence.steps(last), wanted))
        if len(days) < wanted:
            raise InputError("--weeks", f"{weeks} weeks of prices one a {cadence} after the last price's "
                             f"date {last} would run past {date.max}, the last date a forecast can have")
    if not days:
        raise InputError("--deadline", f"no {cadence} step between {last} and {deadline} "
                         f"(the prices come one a {cadence})")
    median, lo, hi = log_arima(series.prices, len(days), level)
    return PriceForecast(
        tuple(days),
        tuple(median),
        tuple(lo),
        tuple(hi),
        level,
        series.currency,
        f"ARIMA(1,1,0) with drift on the log price, one step a {cadence}, statsmodels SARIMAX",
        cadence,
    )
