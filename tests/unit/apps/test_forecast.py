"""Emission and price forecasts: the year-end position, intervals, readers and the seeded model."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast import price
from carbonlab.apps.forecast.emissions import forecast_hourly, forecast_year_end
from carbonlab.apps.forecast.series import HourlySeries, Level, hourly, read_records

JAN1_2025 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def daily_shape_series(days: int, *, seed: int = 1, mean_kg: float = 4000.0) -> HourlySeries:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    kg = mean_kg * (1 + 0.3 * np.sin(2 * np.pi * (hours % 24) / 24)) + rng.normal(0, 50, len(hours))
    return HourlySeries("u1", JAN1_2025, tuple(float(v) for v in kg))


def test_the_hourly_forecast_follows_the_daily_shape_inside_its_band() -> None:
    fc = forecast_hourly(daily_shape_series(21), horizon_h=48)
    assert len(fc.mean) == 48
    assert fc.first_s == JAN1_2025 + 21 * 86400
    truth = [4000 * (1 + 0.3 * math.sin(2 * math.pi * (h % 24) / 24)) for h in range(48)]
    assert max(abs(m - t) for m, t in zip(fc.mean, truth, strict=True)) < 150
    assert all(lo <= m <= hi for lo, m, hi in zip(fc.lo, fc.mean, fc.hi, strict=True))


def test_the_year_end_total_and_position_against_the_allowance() -> None:
    series = daily_shape_series(181)  # 1 Jan .. 30 Jun, 96 t a day
    expected = 365 * 96.0
    short = forecast_year_end(series, allowance_t=30_000.0, price=80.0, penalty_multiple=3.0, seed=5)
    assert short.year == 2025
    assert short.to_date_t == pytest.approx(181 * 96.0, rel=0.01)
    assert short.expected_t == pytest.approx(expected, rel=0.01)
    assert short.lo_t < short.expected_t < short.hi_t
    assert short.shortfall_probability == 1.0
    assert short.expected_shortfall_t == pytest.approx(short.expected_t - 30_000.0, rel=1e-9)
    assert short.expected_cost == pytest.approx(short.expected_shortfall_t * 80.0 * 3.0)
    loose = forecast_year_end(series, allowance_t=40_000.0, price=80.0, seed=5)
    assert loose.shortfall_probability == 0.0
    assert loose.expected_cost == 0.0
    assert loose.expected_surplus_t == pytest.approx(40_000.0 - loose.expected_t, rel=1e-9)
    # the same seed gives the same figures
    assert forecast_year_end(series, allowance_t=30_000.0, price=80.0, penalty_multiple=3.0, seed=5) == short


def test_a_year_end_forecast_needs_two_weeks_and_a_sane_allowance() -> None:
    with pytest.raises(InputError, match=r"history: needs at least 14 whole days"):
        forecast_year_end(daily_shape_series(10), allowance_t=1.0)
    with pytest.raises(InputError, match=r"--allowance-t: must be a finite number in \[0, 1e\+12\]"):
        forecast_year_end(daily_shape_series(20), allowance_t=-1.0)


def test_records_roll_up_to_unit_plant_and_company(tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(
        "time,company,plant,unit,co2_kg\n"
        "2025-01-01T00:00:00Z,acme,p1,u1,10\n2025-01-01T00:30:00Z,acme,p1,u1,5\n"
        f"{JAN1_2025 + 3600},acme,p1,u2,7\n2025-01-01T00:10:00Z,acme,p2,u3,1\n"
    )
    records = read_records(csv)
    assert hourly(records, Level.UNIT, "u1").kg == (15.0,)
    assert hourly(records, Level.PLANT, "p1").kg == (15.0, 7.0)
    assert hourly(records, Level.COMPANY, "acme").kg == (16.0, 7.0)
    with pytest.raises(InputError, match=r"--plant: no records for plant 'p9'"):
        hourly(records, Level.PLANT, "p9")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2025-01-01,acme,p1,u1,-3", r"line 2: co2_kg: must be a finite number in \[0, 1e\+12\] kg"),
        ("yesterday,acme,p1,u1,3", r"line 2: time: must be unix seconds or an ISO 8601 time"),
    ],
)
def test_a_bad_record_is_refused_naming_line_and_field(tmp_path: Path, row: str, message: str) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(f"time,company,plant,unit,co2_kg\n{row}\n")
    with pytest.raises(InputError, match=message):
        read_records(csv)


def test_the_price_model_is_reproducible_for_a_seed_and_round_trips_through_csv(tmp_path: Path) -> None:
    a, b, c = price.generate(7, days=300), price.generate(7, days=300), price.generate(8, days=300)
    assert a == b
    assert a.prices != c.prices
    assert all(d.weekday() < 5 for d in a.dates)
    price.write_csv(a, tmp_path / "p.csv")
    back = price.read_csv(tmp_path / "p.csv")
    assert back.dates == a.dates
    assert back.prices == pytest.approx(a.prices)
    assert back.currency == "CNY"


def test_the_price_forecast_runs_to_the_deadline_on_business_days() -> None:
    series = price.generate(3, days=300)
    deadline = date(series.dates[-1].year + 1, 1, 31)
    fc = price.forecast_price(series, deadline=deadline)
    assert fc.dates[-1] <= deadline
    assert all(d.weekday() < 5 and d > series.dates[-1] for d in fc.dates)
    assert all(lo < m < hi for lo, m, hi in zip(fc.lo, fc.median, fc.hi, strict=True))
    assert fc.hi[-1] - fc.lo[-1] > fc.hi[0] - fc.lo[0]  # the band widens with the horizon
    assert len(price.forecast_price(series, weeks=2).dates) == 10
    with pytest.raises(InputError, match=r"--deadline: .* is not after the last price's date"):
        price.forecast_price(series, deadline=series.dates[0])


def _csv(tmp_path: Path, dates: list[date], prices: list[float]) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("date,price,currency\n" + "".join(
        f"{d.isoformat()},{p:.2f},EUR\n" for d, p in zip(dates, prices, strict=True)))
    return path


def test_a_weekly_price_file_is_forecast_in_weeks_not_business_days(tmp_path: Path) -> None:
    """An outsider's find: a CSV of weekly prices was forecast as if each step were a business
    day, so `--weeks 4` gave 20 weekly steps labelled as four weeks of business days, and the
    band as wide as twenty weeks'."""
    daily = price.generate(11, days=520)
    weekly_dates = list(daily.dates[::5])                        # every Monday-ish: 7 days apart
    weekly = price.read_csv(_csv(tmp_path, weekly_dates, list(daily.prices[::5])))
    assert price.Cadence.of(weekly.dates) is price.Cadence.WEEK
    fc = price.forecast_price(weekly, weeks=4)
    assert fc.cadence is price.Cadence.WEEK
    last = weekly.dates[-1]
    assert list(fc.dates) == [last + timedelta(weeks=k) for k in (1, 2, 3, 4)]
    assert "one step a week" in fc.method
    to_deadline = price.forecast_price(weekly, deadline=last + timedelta(days=30))
    assert list(to_deadline.dates) == [last + timedelta(weeks=k) for k in (1, 2, 3, 4)]
    with pytest.raises(InputError,
                       match=r"--deadline: no week step between .* \(the prices come one a week\)"):
        price.forecast_price(weekly, deadline=last + timedelta(days=3))
    # a business-day series keeps its business days: 4 weeks are 20 steps, none on a weekend
    business = price.forecast_price(daily, weeks=4)
    assert business.cadence is price.Cadence.BUSINESS_DAY
    assert len(business.dates) == 20


def test_calendar_daily_and_monthly_prices_keep_their_own_cadence(tmp_path: Path) -> None:
    start = date(2024, 1, 31)
    calendar = [start + timedelta(days=k) for k in range(60)]
    assert price.Cadence.of(calendar) is price.Cadence.DAY
    series = price.PriceSeries(tuple(calendar), tuple(80.0 + k % 5 for k in range(60)), "EUR")
    fc = price.forecast_price(series, weeks=1)
    assert list(fc.dates) == [calendar[-1] + timedelta(days=k) for k in range(1, 8)]
    monthly = [price.Cadence.MONTH.step(start, k) for k in range(40)]
    assert monthly[:3] == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]   # month ends kept
    assert price.Cadence.of(monthly) is price.Cadence.MONTH
    series = price.PriceSeries(tuple(monthly), tuple(80.0 + k % 3 for k in range(40)), "EUR")
    fc = price.forecast_price(series, deadline=monthly[-1] + timedelta(days=95))
    assert fc.cadence is price.Cadence.MONTH
    assert len(fc.dates) == 3
    quarterly = [price.Cadence.MONTH.step(start, 3 * k) for k in range(40)]
    path = _csv(tmp_path, quarterly, [80.0] * 40)
    with pytest.raises(InputError, match=r"p.csv: date: prices 9[0-2] days apart \(the median gap\): "
                                         r"a forecast needs them daily, on business days, weekly or monthly"):
        price.read_csv(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("date,price\n2025-01-02,80\n", r"missing column\(s\) currency"),
        ("date,price,currency\n2025-01-02,abc,CNY\n", r"line 2: price: must be a number"),
        (
            "date,price,currency\n2025-01-03,80,CNY\n2025-01-02,81,CNY\n",
            r"line 3: date: 2025-01-02 does not follow",
        ),
        ("date,price,currency\n2025-01-02,80,CNY\n2025-01-03,81,EUR\n", r"currency: one currency per file"),
    ],
)
def test_a_bad_price_file_is_refused_naming_what_is_wrong(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "p.csv").write_text(body)
    with pytest.raises(InputError, match=message):
        price.read_csv(tmp_path / "p.csv")
