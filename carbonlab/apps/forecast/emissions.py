"""Emission forecasts: hourly to a month ahead, and the year-end total against an allowance.

Theory of operation.
- Hourly (`forecast_hourly`): a dynamic harmonic regression (Hyndman & Athanasopoulos,
  FPP3 sec. 12.1): the hourly CO2 mass is a constant plus K Fourier pairs of the 24 h day
  (the daily load shape) plus AR(2) errors, fitted by statsmodels' SARIMAX (state space,
  exact likelihood) on the last `window_h` hours. The Fourier terms carry the season in a
  handful of parameters, where a seasonal ARIMA of period 24 would need a 24+ state model
  (a longer fit). Intervals are the model's Gaussian prediction intervals;
  values are floored at 0 (a unit emits no negative CO2).
- Year end (`forecast_year_end`): the daily totals to date follow an AR(1) around a mean
  (statsmodels SARIMAX(1,0,0) with a constant); `n_paths` seeded simulations of the days
  left to the year's end (each day floored at 0) give the distribution of the year's total =
  committed to date + simulated (`year_end_paths`). Against an allowance given as a number
  that distribution gives the expected
  shortfall E[max(total - allowance, 0)], its probability, the expected surplus, and the
  cost of the shortfall at `price * penalty_multiple` per tonne (the rule set's multiple,
  e.g. 1 to buy the allowances, 5-10 under China's ETS). Against the allowances on the
  chain and under the company's rule set, the same paths go through `outlook.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from carbonlab.apps.compliance.model import MAX_PRICE_PER_T, MAX_T
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.series import HourlySeries

SEASON_H = 24
MAX_HORIZON_H = 24 * 366        # a year ahead, hourly
MAX_PATHS = 100_000             # simulated paths to the year end (2,000 by default)
MAX_PENALTY_MULTIPLE = 100.0    # the cost per tonne short as a multiple of the price (the service's bound)


@dataclass(frozen=True, slots=True)
class Forecast:
    """Point forecast and a central prediction interval per step."""

    name: str
    first_s: int  # unix seconds of the first forecast step
    step_s: int
    mean: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    level: float  # e.g. 0.9 for a 90 % interval
    method: str


@dataclass(frozen=True, slots=True)
class YearEnd:
    name: str
    year: int
    to_date_t: float  # committed so far this year
    expected_t: float  # expected year total
    lo_t: float
    hi_t: float
    level: float
    allowance_t: float
    expected_shortfall_t: float  # E[max(total - allowance, 0)]
    expected_surplus_t: float  # E[max(allowance - total, 0)]
    shortfall_probability: float
    price: float
    penalty_multiple: float
    expected_cost: float  # expected_shortfall_t * price * penalty_multiple
    days_left: int
    paths: int


def _fourier(start: int, n: int, k: int) -> list[list[float]]:
    rows = []
    for i in range(start, start + n):
        row = []
        for j in range(1, k + 1):
            angle = 2 * math.pi * j * (i % SEASON_H) / SEASON_H
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return rows


def harmonic_point(
    history: list[float] | tuple[float, ...],
    horizon: int,
    *,
    first_hour: int = 0,
    k: int = 4,
    window_h: int = 24 * 28,
) -> tuple[list[float], list[float], list[float]]:
    """(mean, lo, hi) at 90 % for `horizon` hours after `history` (hour of day of history[0] given)."""
    import warnings

    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    if len(history) < 2 * SEASON_H:
        raise InputError("history", f"needs at least {2 * SEASON_H} hours, got {len(history)}")
    offset = max(0, len(history) - window_h)
    y = np.asarray(history[offset:], dtype=float)
    start = first_hour + offset
    exog = np.column_stack([np.ones(len(y)), np.asarray(_fourier(start, len(y), k))])
    future = np.column_stack([np.ones(horizon), np.asarray(_fourier(start + len(y), horizon, k))])
    scale = float(np.abs(y).mean()) or 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = SARIMAX(y / scale, exog=exog, order=(2, 0, 0), trend="n").fit(disp=False, maxiter=100)
        pred = res.get_forecast(horizon, exog=future)
        ci = pred.conf_int(alpha=0.1)
    mean = [max(0.0, float(v) * scale) for v in pred.predicted_mean]
    lo = [max(0.0, float(v) * scale) for v in ci[:, 0]]
    hi = [max(0.0, float(v) * scale) for v in ci[:, 1]]
    return mean, lo, hi


def forecast_hourly(series: HourlySeries, horizon_h: int = 24 * 30) -> Forecast:
    if not 1 <= horizon_h <= MAX_HORIZON_H:
        raise InputError("--horizon-h", f"must be in 1..{MAX_HORIZON_H} (a year of hours), got {horizon_h}")
    mean, lo, hi = harmonic_point(series.kg, horizon_h, first_hour=(series.first_hour_s // 3600) % SEASON_H)
    return Forecast(
        series.name,
        series.end_s,
        3600,
        tuple(mean),
        tuple(lo),
        tuple(hi),
        0.9,
        "harmonic regression (4 daily Fourier pairs) with AR(2) errors, statsmodels SARIMAX",
    )


def _year_bounds(year: int) -> tuple[int, int]:
    return (
        int(datetime(year, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()),
    )


@dataclass(frozen=True, slots=True)
class YearPaths:
    """Simulated totals of the year of a series' last hour (the input of the year-end position
    and of the outlook against the chain's allowances, `outlook.py`)."""

    year: int
    to_date_t: float
    totals_t: tuple[float, ...]
    days_left: int


def year_end_paths(series: HourlySeries, *, paths: int = 2000, seed: int = 0) -> YearPaths:
    """`paths` seeded simulations of the year's total: committed to date + the days left."""
    import warnings

    import numpy as np
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    if not 1 <= paths <= MAX_PATHS:
        raise InputError("--paths", f"must be in 1..{MAX_PATHS}, got {paths}")
    year = datetime.fromtimestamp(series.end_s - 1, UTC).year
    y0, y1 = _year_bounds(year)
    kg = np.asarray(series.kg, dtype=float)
    hour_s = series.first_hour_s + 3600 * np.arange(len(kg))
    to_date_t = float(kg[hour_s >= y0].sum()) / 1000.0
    # whole days of history (the last, partial day counted in to_date only)
    day0 = series.first_hour_s // 86400 + (1 if series.first_hour_s % 86400 else 0)
    full_days = (series.end_s // 86400) - day0
    if full_days < 14:
        raise InputError(
            "history", f"needs at least 14 whole days for a year-end forecast, got {max(full_days, 0)}"
        )
    first_idx = (day0 * 86400 - series.first_hour_s) // 3600
    daily_t = kg[first_idx : first_idx + full_days * 24].reshape(full_days, 24).sum(axis=1) / 1000.0
    hours_left = max(0, (y1 - series.end_s) // 3600)
    # the partial current day: its remaining hours at the mean hourly rate of the model's days
    days_left = hours_left // 24
    rest_h = hours_left - 24 * days_left
    rng = np.random.default_rng(seed)
    if hours_left == 0:
        totals = np.full(paths, to_date_t)
    else:
        scale = float(daily_t.mean()) or 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = SARIMAX(daily_t / scale, order=(1, 0, 0), trend="c").fit(disp=False, maxiter=100)
            intercept, phi, sigma2 = (float(v) for v in res.params)
        # the fitted AR(1) run forward from the last day, all paths at once (what statsmodels'
        # `simulate(anchor="end")` does, without its per-path overhead)
        steps = days_left + 1
        sims = np.empty((steps, paths))
        last = np.full(paths, daily_t[-1] / scale)
        shocks = rng.normal(0.0, math.sqrt(max(sigma2, 0.0)), size=(steps, paths))
        for k in range(steps):
            last = intercept + phi * last + shocks[k]
            sims[k] = last
        sims = np.clip(np.asarray(sims).reshape(steps, paths) * scale, 0.0, None)
        future = sims[:days_left].sum(axis=0) + sims[days_left] * (rest_h / 24.0)
        totals = to_date_t + future
    return YearPaths(year, to_date_t, tuple(float(t) for t in totals), int(days_left))


def forecast_year_end(
    series: HourlySeries,
    *,
    allowance_t: float,
    price: float = 0.0,
    penalty_multiple: float = 1.0,
    paths: int = 2000,
    seed: int = 0,
    level: float = 0.9,
) -> YearEnd:
    """The year's total (the year of the series' last hour) and the position against the allowance."""
    import numpy as np

    for name, value, most in (
        ("--allowance-t", allowance_t, MAX_T),
        ("--price", price, MAX_PRICE_PER_T),
        ("--penalty-multiple", penalty_multiple, MAX_PENALTY_MULTIPLE),
    ):
        if not (math.isfinite(value) and 0 <= value <= most):
            raise InputError(name, f"must be a finite number in [0, {most:g}], got {value!r}")
    sim = year_end_paths(series, paths=paths, seed=seed)
    totals = np.asarray(sim.totals_t)
    alpha = (1 - level) / 2
    short = np.clip(totals - allowance_t, 0.0, None)
    surplus = np.clip(allowance_t - totals, 0.0, None)
    expected_short = float(short.mean())
    return YearEnd(
        series.name,
        sim.year,
        sim.to_date_t,
        float(totals.mean()),
        float(np.quantile(totals, alpha)),
        float(np.quantile(totals, 1 - alpha)),
        level,
        allowance_t,
        expected_short,
        float(surplus.mean()),
        float((totals > allowance_t).mean()),
        price,
        penalty_multiple,
        expected_short * price * penalty_multiple,
        sim.days_left,
        paths,
    )
