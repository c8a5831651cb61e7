"""Per-meter forecast of the next hours' CO2 mass from the meter's own hourly history.

Method: additive Holt-Winters (level, damped trend, hour-of-day season of 24) fitted
by a small grid search over (alpha, beta, gamma, phi) that minimises the one-step-ahead
squared error on the history; the forecast h hours ahead is
`level + (phi + ... + phi^h) * trend + season[hour of day]`, floored at 0. With less
than two days of history there is no season to learn and it falls back to the
persistence forecast (the last hour repeated). Two baselines are kept for comparison
in `evaluate`: persistence and seasonal-naive (the same hour yesterday).

`evaluate` scores a rolling-origin forecast over held-out hours: MAE in kg, and
MAPE / WAPE in percent (MAPE only over hours whose actual is above 10 % of the mean,
since a tripped unit emits ~0 and any error on ~0 is an infinite percentage). The
harness that feeds it the rig's emulated unit is `carbonlab.bench.forecast_eval`
(`carbonlab gateway forecast-eval` prints it): the gateway does not import the rig.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SEASON = 24
GRID_ALPHA = (0.2, 0.4, 0.6, 0.8, 0.95)
GRID_BETA = (0.0, 0.05, 0.2)
GRID_GAMMA = (0.0, 0.1, 0.3)
GRID_PHI = (0.8, 0.9, 0.98)


@dataclass(frozen=True, slots=True)
class HoltWinters:
    alpha: float
    beta: float
    gamma: float
    phi: float
    level: float
    trend: float
    season: tuple[float, ...]     # indexed by hour of day
    next_hour: int                # hour of day of the next value
    sse: float

    def forecast(self, horizon_h: int) -> list[float]:
        out = []
        damp = 0.0
        for h in range(1, horizon_h + 1):
            damp += self.phi ** h
            value = self.level + damp * self.trend + self.season[(self.next_hour + h - 1) % SEASON]
            out.append(max(0.0, value))
        return out


def _run(series: Sequence[float], first_hour: int, alpha: float, beta: float, gamma: float,
         phi: float) -> HoltWinters:
    days = len(series) // SEASON
    first_day = series[:SEASON]
    mean0 = math.fsum(first_day) / SEASON
    season = [0.0] * SEASON
    for i, v in enumerate(first_day):
        season[(first_hour + i) % SEASON] = v - mean0
    level, trend = mean0, 0.0
    if days >= 2:
        trend = (math.fsum(series[SEASON:2 * SEASON]) - math.fsum(first_day)) / SEASON / SEASON
    sse = 0.0
    for i, y in enumerate(series[SEASON:], start=SEASON):
        hour = (first_hour + i) % SEASON
        predicted = level + phi * trend + season[hour]
        sse += (y - predicted) ** 2
        new_level = alpha * (y - season[hour]) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        season[hour] = gamma * (y - new_level) + (1 - gamma) * season[hour]
        level = new_level
    return HoltWinters(alpha, beta, gamma, phi, level, trend, tuple(season),
                       (first_hour + len(series)) % SEASON, sse)


def fit(series: Sequence[float], first_hour: int = 0) -> HoltWinters:
    """Best Holt-Winters on the grid; persistence when there are fewer than two days."""
    if len(series) < 2 * SEASON:
        last = series[-1] if series else 0.0
        return HoltWinters(1.0, 0.0, 0.0, 0.0, last, 0.0, (0.0,) * SEASON,
                           (first_hour + len(series)) % SEASON, math.nan)
    best: HoltWinters | None = None
    for a, b, g, p in itertools.product(GRID_ALPHA, GRID_BETA, GRID_GAMMA, GRID_PHI):
        model = _run(series, first_hour, a, b, g, p)
        if best is None or model.sse < best.sse:
            best = model
    assert best is not None
    return best


def hourly_mass(points: Sequence[tuple[int, float]]) -> tuple[int, list[float]]:
    """(unix s, kg) per interval -> (hour of day of the first hour, kg per hour), gaps as 0."""
    if not points:
        return 0, []
    first = min(t for t, _ in points) // 3600
    last = max(t for t, _ in points) // 3600
    out = [0.0] * (last - first + 1)
    for t, kg in points:
        out[t // 3600 - first] += kg
    return first % SEASON, out


def next_hours_kg(points: Sequence[tuple[int, float]], closed_until: int,
                  horizon_h: int = 1) -> list[float] | None:
    """Forecast kg per hour for the hours after the last complete one; None without a full hour."""
    done = [(t, kg) for t, kg in points if t < closed_until - closed_until % 3600]
    if not done:
        return None
    first_hour, series = hourly_mass(done)
    return fit(series, first_hour).forecast(horizon_h)


def _scores(actual: list[float], predicted: list[float]) -> dict[str, float]:
    mean = math.fsum(actual) / len(actual) if actual else 0.0
    errors = [abs(a - p) for a, p in zip(actual, predicted, strict=True)]
    pct = [abs(a - p) / a for a, p in zip(actual, predicted, strict=True) if a > 0.1 * mean]
    return {"mae_kg": round(math.fsum(errors) / len(errors), 1),
            "mape_pct": round(100 * math.fsum(pct) / len(pct), 2) if pct else math.nan,
            "wape_pct": round(100 * math.fsum(errors) / math.fsum(actual), 2) if mean else math.nan,
            "n": len(errors)}


def evaluate(series: Sequence[float], first_hour: int, train_h: int,
             horizon_h: int) -> dict[str, Any]:
    """Rolling origin over series[train_h:]: refit every 24 h, forecast horizon_h hours each hour."""
    methods: dict[str, tuple[list[float], list[float]]] = {
        "holt_winters": ([], []), "persistence": ([], []), "seasonal_naive": ([], [])}
    model: HoltWinters | None = None
    for origin in range(train_h, len(series) - horizon_h + 1):
        if model is None or (origin - train_h) % SEASON == 0:
            model = fit(series[:origin], first_hour)
        else:  # advance the fitted model over the values seen since its fit, same parameters
            model = _run(series[:origin], first_hour, model.alpha, model.beta, model.gamma, model.phi)
        actual = list(series[origin: origin + horizon_h])
        for name, pred in (("holt_winters", model.forecast(horizon_h)),
                           ("persistence", [series[origin - 1]] * horizon_h),
                           ("seasonal_naive", [series[origin - SEASON + (h % SEASON)]
                                               for h in range(horizon_h)])):
            methods[name][0].extend(actual)
            methods[name][1].extend(pred)
    return {name: _scores(a, p) for name, (a, p) in methods.items()}
