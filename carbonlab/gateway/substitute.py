"""Substitute data for missing intervals, per 40 CFR 75.31 and 75.33 (via 75.35 for CO2).

Theory of operation. Part 75 fills every missing monitor operating hour with a
substitute value chosen by how much quality-assured (QA) data the monitor has and
how long the gap is. We apply the rules with the gateway's interval in place of the
regulation's hour: "QA hours" are valid measured intervals, lookbacks count QA
intervals, and the duration limits (8 h, 24 h) stay durations in time.

Initial procedures, 75.31 (fewer than `initial_qa` QA intervals: 720 for CO2,
2160 for flow):
  * 75.31(b)(1), (c)(1): the average of the last QA interval before the gap (HB)
    and the first QA interval after it (HA);
  * 75.31(b)(2), (c)(2): no prior QA data: the maximum potential value.
Standard procedures, 75.33(b) for CO2 (75.35(d)) and 75.33(c) for flow, by percent
monitor data availability A (75.32: QA intervals / all intervals in the lookback):
  * A >= 95 %:      gap <= 24 h: HB/HA average; longer: max(HB/HA, 90th percentile)
  * 90 % <= A < 95: gap <= 8 h:  HB/HA average; longer: max(HB/HA, 95th percentile)
  * 80 % <= A < 90: the maximum QA value in the lookback
  * A < 80 %:       the maximum potential value
Percentiles are nearest-rank over the lookback (720 QA intervals for CO2, 2160 for
flow). We do not bin flow by unit load (75.33(c)'s load ranges): the gateway does
not know the unit's load, so it uses one bin, as for a non-load-based unit.

The regulation fills a gap once it has ended (HA needs the first value after it).
The gateway waits for HA up to a hold time; past it, it uses HB alone for the
"HB/HA average" (a stated deviation, so the chain is not held hostage by a dead
analyser). O2, H2O, temperature and pressure, which only convert the flow and the
basis, take the HB/HA average (75.31(b)(1) for moisture and diluent), falling back
to the middle of the meter's genesis range when there is no QA data at all.
Units: CO2 and H2O in % vol, flow in actual m3/s, temperature degC, pressure kPa.

The channels of wire version 2, where the meter has them (`Limits.extra_ranges`): CH4 and
N2O take the HB/HA average (Part 75 has no CH4/N2O monitors to substitute for; we follow
its moisture and diluent rule), and with no QA data at all the top of the genesis range, a
maximum potential value that cannot under-report; gross output and heat input take the
HB/HA average, and with no QA data gross output the bottom of its range and heat input
the top (so the substitute never claims more output per unit of heat than was measured).
The reading is marked `substituted` as a whole, as for CO2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

CO2_INITIAL_QA = 720
FLOW_INITIAL_QA = 2160


class Tier(StrEnum):
    AVERAGE = "hb_ha_average"            # 75.31(b)(1)/(c)(1), 75.33 (b)(1)(i), (b)(2)(i)
    P90 = "p90_or_average"               # 75.33 (b)(1)(ii)
    P95 = "p95_or_average"               # 75.33 (b)(2)(ii)
    LOOKBACK_MAX = "lookback_max"        # 75.33 (b)(3)
    MAX_POTENTIAL = "max_potential"      # 75.33 (b)(4), 75.31(b)(2)


@dataclass(frozen=True, slots=True)
class Gap:
    """What the substitution of one missing interval may look at."""

    before: Mapping[str, float] | None      # last QA interval before the gap (HB)
    after: Mapping[str, float] | None       # first QA interval after it (HA), if known
    gap_s: int                              # length of the missing period so far
    co2_lookback: Sequence[float]           # QA CO2 values, newest last, at most 720
    flow_lookback: Sequence[float]          # QA flow values, newest last, at most 2160
    qa_count: int                           # QA intervals ever recorded for the meter
    availability_pct: float                 # 75.32


@dataclass(frozen=True, slots=True)
class Limits:
    """Maximum potential values and the ranges other fields fall back to."""

    max_co2_pct: float
    max_flow_m3_s: float
    ranges: Mapping[str, tuple[float, float]]
    extra_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the ceil(pct/100 * n)-th smallest value."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _hb_ha(gap: Gap, key: str) -> float | None:
    vals = [v[key] for v in (gap.before, gap.after) if v is not None and key in v]
    return math.fsum(vals) / len(vals) if vals else None


def parameter(gap: Gap, key: str, lookback: Sequence[float], initial_qa: int,
              max_potential: float) -> tuple[float, Tier]:
    """Substitute value of CO2 or flow for one missing interval, with the tier that chose it."""
    avg = _hb_ha(gap, key)
    if gap.qa_count < initial_qa or not lookback:
        if avg is None or gap.before is None:
            return max_potential, Tier.MAX_POTENTIAL
        return avg, Tier.AVERAGE
    a = gap.availability_pct
    if a >= 95.0:
        if gap.gap_s <= 24 * 3600 and avg is not None:
            return avg, Tier.AVERAGE
        return max(avg if avg is not None else -math.inf, percentile(lookback, 90)), Tier.P90
    if a >= 90.0:
        if gap.gap_s <= 8 * 3600 and avg is not None:
            return avg, Tier.AVERAGE
        return max(avg if avg is not None else -math.inf, percentile(lookback, 95)), Tier.P95
    if a >= 80.0:
        return max(lookback), Tier.LOOKBACK_MAX
    return max_potential, Tier.MAX_POTENTIAL


def substitute(gap: Gap, limits: Limits) -> tuple[dict[str, float], dict[str, Tier]]:
    """All six values of a missing interval, clamped to the meter's ranges, and the tiers used."""
    co2, co2_tier = parameter(gap, "co2_pct", gap.co2_lookback, CO2_INITIAL_QA, limits.max_co2_pct)
    flow, flow_tier = parameter(gap, "flow_m3_s", gap.flow_lookback, FLOW_INITIAL_QA,
                                limits.max_flow_m3_s)
    values = {"co2_pct": co2, "flow_m3_s": flow}
    for key in ("o2_pct", "h2o_pct", "temp_c", "pressure_kpa"):
        avg = _hb_ha(gap, key)
        if avg is None:
            lo, hi = limits.ranges[key]
            avg = _fallback(key, lo, hi)
        values[key] = avg
    for key, (lo, hi) in limits.extra_ranges.items():
        avg = _hb_ha(gap, key)
        values[key] = avg if avg is not None else (lo if key == "gross_mw" else hi)
    for key, value in values.items():
        lo, hi = limits.extra_ranges[key] if key in limits.extra_ranges else limits.ranges[key]
        values[key] = min(hi, max(lo, value))
    return values, {"co2_pct": co2_tier, "flow_m3_s": flow_tier}


def _fallback(key: str, lo: float, hi: float) -> float:
    # Standard conditions where the range allows (mass then needs no T/P correction), else the middle.
    standard = {"temp_c": 20.0, "pressure_kpa": 101.325, "h2o_pct": 0.0}
    if key in standard and lo <= standard[key] <= hi:
        return standard[key]
    return (lo + hi) / 2.0
