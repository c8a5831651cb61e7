"""Rolling-origin backtests: reproducible for a seed, a baseline of ratio 1, an honest verdict."""

from __future__ import annotations

import argparse

import pytest

from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.backtest import rolling_origin
from carbonlab.cli.forecast_cmd import backtests


def small(seed: int) -> argparse.Namespace:
    return argparse.Namespace(
        seed=seed,
        units=1,
        days=3,
        holdout_days=1,
        horizon_h=12,
        price_days=120,
        price_holdout=20,
        price_horizon=5,
    )


def test_the_backtest_figures_are_reproducible_for_a_seed() -> None:
    first, again, other = backtests(small(11)), backtests(small(11)), backtests(small(12))
    assert first == again
    assert first != other
    unit, prices = first
    assert [s.forecaster for s in unit.scores] == [
        "seasonal-naive",
        "harmonic-sarimax",
        "gateway-holt-winters",
    ]
    assert [s.forecaster for s in prices.scores] == ["seasonal-naive", "log-arima"]
    for result in first:
        assert result.scores[0].ratio_to_baseline == 1.0
        assert all(s.n == result.origins * result.horizon for s in result.scores)


def test_a_forecaster_that_does_not_beat_its_baseline_says_so() -> None:
    series = [float(h % 24) for h in range(24 * 6)]  # a pure daily season
    result = rolling_origin(
        "season",
        series,
        {
            "mean": lambda hist, n: [sum(hist) / len(hist)] * n,
            "exact": lambda hist, n: [float((len(hist) + h) % 24) for h in range(n)],
        },
        season=24,
        train=24 * 4,
        horizon=24,
        step=12,
    )
    base, mean, exact = result.scores
    assert base.mae == 0.0
    assert exact.mae == 0.0
    assert not mean.beats_baseline
    assert mean.verdict == "does NOT beat seasonal-naive"
    assert result.origins == 3


def test_too_little_data_is_refused_naming_it() -> None:
    with pytest.raises(
        InputError, match=r"holdout: the series \(30\) is shorter than train 24 \+ horizon 12"
    ):
        rolling_origin("x", [1.0] * 30, {}, season=24, train=24, horizon=12, step=1)
