"""40 CFR 75.31 / 75.33 substitution tiers, against worked numbers."""

from __future__ import annotations

import pytest

from carbonlab.gateway import substitute as sub
from carbonlab.node.genesis import DEFAULT_RANGES

HB = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
      "pressure_kpa": 100.0}
HA = {"co2_pct": 12.0, "o2_pct": 4.0, "h2o_pct": 10.0, "flow_m3_s": 340.0, "temp_c": 130.0,
      "pressure_kpa": 102.0}
LIMITS = sub.Limits(max_co2_pct=14.0, max_flow_m3_s=900.0, ranges=DEFAULT_RANGES)
# 2160 values 1..2160 (CO2 lookback: the newest 720 of them scaled to 0..21.6)
FLOW = [float(i) for i in range(1, 2161)]
CO2 = [i / 100.0 for i in range(1441, 2161)]


def gap(*, availability: float, gap_s: int, qa: int = 5000, before: bool = True,
        after: bool = True) -> sub.Gap:
    return sub.Gap(before=HB if before else None, after=HA if after else None, gap_s=gap_s,
                   co2_lookback=CO2, flow_lookback=FLOW, qa_count=qa,
                   availability_pct=availability)


def test_nearest_rank_percentile() -> None:
    assert sub.percentile([float(i) for i in range(1, 101)], 90) == 90.0
    assert sub.percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert sub.percentile(FLOW, 95) == 2052.0   # ceil(0.95 * 2160) = 2052
    with pytest.raises(ValueError, match="no values"):
        sub.percentile([], 90)


def test_initial_period_uses_hb_ha_average() -> None:
    values, tiers = sub.substitute(gap(availability=100, gap_s=60, qa=10), LIMITS)
    assert values["co2_pct"] == pytest.approx(11.0)
    assert values["flow_m3_s"] == pytest.approx(320.0)
    assert values["temp_c"] == pytest.approx(125.0)
    assert values["h2o_pct"] == pytest.approx(9.0)
    assert tiers == {"co2_pct": sub.Tier.AVERAGE, "flow_m3_s": sub.Tier.AVERAGE}


def test_initial_period_without_prior_data_uses_max_potential() -> None:
    values, tiers = sub.substitute(gap(availability=0, gap_s=60, qa=0, before=False), LIMITS)
    assert values["co2_pct"] == 14.0
    assert values["flow_m3_s"] == 900.0
    assert tiers["co2_pct"] is sub.Tier.MAX_POTENTIAL
    assert values["temp_c"] == pytest.approx(130.0)   # HA alone


def test_high_availability_short_gap_is_the_average() -> None:
    values, tiers = sub.substitute(gap(availability=96, gap_s=24 * 3600), LIMITS)
    assert values["co2_pct"] == pytest.approx(11.0)
    assert tiers["flow_m3_s"] is sub.Tier.AVERAGE


def test_high_availability_long_gap_is_the_greater_of_p90_and_average() -> None:
    values, tiers = sub.substitute(gap(availability=96, gap_s=24 * 3600 + 60), LIMITS)
    assert values["flow_m3_s"] == 1944.0             # ceil(0.9 * 2160) = 1944 > 320
    assert values["co2_pct"] == pytest.approx(CO2[647])  # ceil(0.9 * 720) = 648th
    assert tiers["co2_pct"] is sub.Tier.P90


def test_mid_availability_uses_8_hours_and_p95() -> None:
    assert sub.substitute(gap(availability=92, gap_s=8 * 3600), LIMITS)[1]["co2_pct"] is sub.Tier.AVERAGE
    values, tiers = sub.substitute(gap(availability=92, gap_s=8 * 3600 + 60), LIMITS)
    assert values["flow_m3_s"] == 2000.0   # p95 = 2052, clamped to the genesis range 0..2000
    assert values["co2_pct"] == pytest.approx(CO2[683])  # ceil(0.95 * 720) = 684th
    assert tiers["flow_m3_s"] is sub.Tier.P95


def test_low_availability_uses_lookback_maximum() -> None:
    values, tiers = sub.substitute(gap(availability=85, gap_s=60), LIMITS)
    assert values["co2_pct"] == pytest.approx(21.6)
    assert tiers["co2_pct"] is sub.Tier.LOOKBACK_MAX


def test_very_low_availability_uses_max_potential() -> None:
    values, tiers = sub.substitute(gap(availability=79.9, gap_s=60), LIMITS)
    assert values["co2_pct"] == 14.0
    assert values["flow_m3_s"] == 900.0
    assert tiers["flow_m3_s"] is sub.Tier.MAX_POTENTIAL


def test_no_after_value_uses_before_alone() -> None:
    values, _ = sub.substitute(gap(availability=100, gap_s=60, after=False), LIMITS)
    assert values["co2_pct"] == 10.0
    assert values["flow_m3_s"] == 300.0
