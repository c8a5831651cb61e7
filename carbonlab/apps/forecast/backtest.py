"""Rolling-origin backtests: every forecaster scored the same way on held-out data.

Theory of operation. A series is split at `train` points; from each origin o = train,
train + step, ... (while a full horizon is left) every forecaster sees series[:o] and
forecasts series[o:o+horizon]. The errors over all origins and steps give MAE and MAPE
(MAPE only over actuals above 10 % of the series' mean: a tripped unit emits ~0, and a
percentage of ~0 is meaningless; the gateway's edge evaluation uses the same rule) and
the ratio of each forecaster's MAE to the seasonal-naive baseline's (the value one season
earlier, repeated; for a series without a season, `season=1`, that is the last value).
A ratio of 1 or more means the forecaster does not beat its baseline, and the report says
so. Forecasters are plain callables `(history, horizon) -> list[float]`, so the gateway's
edge forecaster is scored by this very code (the CLI passes it in: apps may not import
the gateway). Nothing here draws random numbers: a seeded series gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from carbonlab.apps.errors import InputError

Forecaster = Callable[[Sequence[float], int], Sequence[float]]


@dataclass(frozen=True, slots=True)
class Score:
    forecaster: str
    mae: float
    mape_pct: float
    ratio_to_baseline: float  # MAE / seasonal-naive MAE
    n: int

    @property
    def beats_baseline(self) -> bool:
        return self.ratio_to_baseline < 1.0

    @property
    def verdict(self) -> str:
        return "beats seasonal-naive" if self.beats_baseline else "does NOT beat seasonal-naive"


@dataclass(frozen=True, slots=True)
class Backtest:
    series: str
    season: int
    train: int
    horizon: int
    step: int
    origins: int
    scores: tuple[Score, ...]  # the baseline first


def seasonal_naive(season: int) -> Forecaster:
    def forecast(history: Sequence[float], horizon: int) -> list[float]:
        return [history[len(history) - season + (h % season)] for h in range(horizon)]

    return forecast


def rolling_origin(
    name: str,
    series: Sequence[float],
    forecasters: Mapping[str, Forecaster],
    *,
    season: int,
    train: int,
    horizon: int,
    step: int,
) -> Backtest:
    if not 0 < season <= train:
        raise InputError("train", f"needs at least one season ({season}) of training data, got {train}")
    if train + horizon > len(series):
        raise InputError(
            "holdout", f"the series ({len(series)}) is shorter than train {train} + horizon {horizon}"
        )
    if step < 1 or horizon < 1:
        raise InputError("step/horizon", f"must be 1 or more, got step {step}, horizon {horizon}")
    methods: dict[str, Forecaster] = {"seasonal-naive": seasonal_naive(season), **forecasters}
    errors: dict[str, list[float]] = {k: [] for k in methods}
    pct: dict[str, list[float]] = {k: [] for k in methods}
    mean = math.fsum(series) / len(series)
    origins = list(range(train, len(series) - horizon + 1, step))
    for origin in origins:
        history, actual = series[:origin], series[origin : origin + horizon]
        for key, forecaster in methods.items():
            predicted = list(forecaster(history, horizon))
            if len(predicted) != horizon:
                raise ValueError(f"forecaster {key} gave {len(predicted)} values for a horizon of {horizon}")
            for a, p in zip(actual, predicted, strict=True):
                errors[key].append(abs(a - p))
                if a > 0.1 * mean:
                    pct[key].append(abs(a - p) / abs(a))
    base = math.fsum(errors["seasonal-naive"]) / len(errors["seasonal-naive"])
    scores = []
    for key in methods:
        mae = math.fsum(errors[key]) / len(errors[key])
        mape = 100 * math.fsum(pct[key]) / len(pct[key]) if pct[key] else math.nan
        scores.append(Score(key, mae, mape, mae / base if base > 0 else math.inf, len(errors[key])))
    return Backtest(name, season, train, horizon, step, len(origins), tuple(scores))
