"""The unit model's fit recovers a known intensity curve from synthetic interval readings."""

from __future__ import annotations

import random

import pytest

from carbonlab.apps.errors import InputError
from carbonlab.apps.planning.units import IntensityCurve, IntervalPoint, fit_curve


def synthetic(curve: IntensityCurve, *, seed: int, n: int = 400, noise: float = 0.01) -> list[IntervalPoint]:
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        mw = rng.uniform(240.0, 600.0)
        hours = 1 / 12  # five-minute readings
        co2_t = curve.co2_t_h(mw) * hours * (1 + rng.gauss(0.0, noise))
        points.append(IntervalPoint(co2_t, mw * hours, hours))
    points.append(IntervalPoint(0.0, 0.0, 1 / 12))  # an interval off: not part of the fit
    return points


def test_fit_recovers_a_known_heat_rate_curve() -> None:
    truth = IntensityCurve(60.0, 0.75, 0.0002)
    curve, report = fit_curve(synthetic(truth, seed=3), unit="U1")
    assert report.points == 400
    assert report.r2 > 0.99
    for mw in (250.0, 400.0, 600.0):
        assert curve.t_per_mwh(mw) == pytest.approx(truth.t_per_mwh(mw), rel=0.005)
    assert report.rmse_t_per_mwh == pytest.approx(0.01 * truth.t_per_mwh(420.0), rel=0.3)


def test_noise_free_readings_give_the_curve_exactly() -> None:
    truth = IntensityCurve(25.0, 0.9, 0.0001)
    curve, report = fit_curve(synthetic(truth, seed=1, n=20, noise=0.0))
    assert (curve.a, curve.b, curve.c) == pytest.approx((25.0, 0.9, 0.0001), rel=1e-6)
    assert report.rmse_t_h == pytest.approx(0.0, abs=1e-6)


def test_too_few_distinct_loads_is_an_error_naming_the_unit() -> None:
    points = [IntervalPoint(40.0, 100.0, 1.0)] * 5
    with pytest.raises(
        InputError, match=r"unit U7: readings: need intervals at three or more distinct loads"
    ):
        fit_curve(points, unit="U7")
