"""Holt-Winters forecast: recovers a known daily pattern, falls back without history, scores."""

from __future__ import annotations

import math

import pytest

from carbonlab.gateway import forecast


def daily(days: int, level: float = 1000.0, amp: float = 300.0) -> list[float]:
    return [level + amp * math.sin(2 * math.pi * h / 24) for h in range(days * 24)]


def test_learns_a_pure_daily_cycle() -> None:
    series = daily(6)
    model = forecast.fit(series)
    predicted = model.forecast(24)
    expected = daily(7)[6 * 24:]
    assert max(abs(p - e) for p, e in zip(predicted, expected, strict=True)) < 15.0


def test_persistence_without_two_days() -> None:
    model = forecast.fit([5.0, 7.0, 9.0])
    assert model.forecast(3) == [9.0, 9.0, 9.0]


def test_never_negative() -> None:
    model = forecast.fit([100.0 - 2 * h for h in range(72)])
    assert min(model.forecast(48)) >= 0.0


def test_hourly_mass_and_next_hour_skip_the_incomplete_hour() -> None:
    hour = 1_700_000_000 - 1_700_000_000 % 3600
    points = [(hour + 60 * k, 10.0) for k in range(90)]      # 1.5 hours of 10 kg minutes
    first, series = forecast.hourly_mass(points)
    assert series == [600.0, 300.0]
    assert first == (hour // 3600) % 24
    assert forecast.next_hours_kg(points, hour + 5400) == [600.0]
    assert forecast.next_hours_kg(points[:30], hour + 1800) is None


def test_evaluate_scores_each_method() -> None:
    series = daily(5)
    scores = forecast.evaluate(series, 0, train_h=72, horizon_h=3)
    assert set(scores) == {"holt_winters", "persistence", "seasonal_naive"}
    assert scores["seasonal_naive"]["mae_kg"] == pytest.approx(0.0, abs=1e-6)
    assert scores["holt_winters"]["mape_pct"] < scores["persistence"]["mape_pct"]
