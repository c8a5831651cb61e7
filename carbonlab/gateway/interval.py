"""Averaging samples into UTC-aligned intervals, with HJ 76-2017 validity and HJ 212 data flags.

Theory of operation. An interval `[start, start + interval_s)` (start a multiple of
interval_s, UTC) is cut into whole minutes. The rules, and where they come from:

* Minute rule (ours, stated): a minute is valid when at least 75 % of the samples
  expected in it (60 / sample_period_s) came back with status OK. 75 % is the ratio
  HJ 76-2017 / HJ 75-2017 use for the hour (45 valid minutes of 60); the standards
  leave the sample-to-minute step to the data acquisition unit, so we use the same ratio.
* Interval rule (HJ 76-2017, "an hour is valid with at least 45 valid minutes"),
  generalised to any whole number of minutes: valid when valid minutes >=
  ceil(0.75 * minutes). For a 60 s interval that is the minute rule; for 3600 s, 45.
* Averages are the mean of the valid minutes' means (HJ 75's hour average is the
  mean of its valid minute values); a minute's mean is over its OK samples.
* The HJ 212-2017 data flag: N when valid; F when valid but the stack flow is below
  `stopped_flow_m3_s` (unit stopped); otherwise the cause carried by most of the
  non-OK samples (C calibration, M maintenance, D analyser fault/invalid, T over
  range, B communication fault; ties in that order), B when no sample arrived at
  all, and T when the averages fall outside the meter's genesis ranges. S (manual)
  is never set by the gateway: it marks values a person entered.

An invalid interval carries no measured values: the caller fills it with substitute
data (`substitute.py`) and marks it `substituted=True`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.node.model import DataFlag

CHANNELS = ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa")
# wire version 2's channels, averaged by the same rules where the meter has them: a gas in
# its channel's unit, gross output and heat input in MW
EXTRA_CHANNELS = ("ch4", "n2o", "gross_mw", "heat_input_mw")
ALL_CHANNELS = CHANNELS + EXTRA_CHANNELS
VALID_RATIO = 0.75              # 45 of 60: HJ 76-2017 hour rule, also used for minutes
MINUTE_S = 60

_CAUSE_ORDER: tuple[tuple[SampleStatus, DataFlag], ...] = (
    (SampleStatus.CALIBRATING, DataFlag.CALIBRATION),
    (SampleStatus.MAINTENANCE, DataFlag.MAINTENANCE),
    (SampleStatus.INVALID, DataFlag.FAULT),
    (SampleStatus.OVER_RANGE, DataFlag.OVER_RANGE),
    (SampleStatus.COMM_FAULT, DataFlag.COMM_FAULT),
)


@dataclass(frozen=True, slots=True)
class IntervalSummary:
    """One closed interval of one meter, before seq, mass and substitution are attached."""

    meter_id: str
    interval_start: int
    interval_s: int
    valid: bool
    flag: DataFlag
    valid_samples: int
    total_samples: int
    valid_minutes: int
    minutes: int
    values: dict[str, float]      # averages when valid; empty otherwise

    @property
    def interval_end(self) -> int:
        return self.interval_start + self.interval_s


def align(t: float, interval_s: int) -> int:
    """Start of the UTC-aligned interval holding instant `t`."""
    return math.floor(t / interval_s) * interval_s


def minute_valid(ok_samples: int, sample_period_s: float, minute_s: float = MINUTE_S) -> bool:
    expected = max(1, round(minute_s / sample_period_s))
    return ok_samples >= math.ceil(VALID_RATIO * expected)


def interval_valid(valid_minutes: int, minutes: int) -> bool:
    """HJ 76-2017: 45 valid minutes of 60 make a valid hour; the same ratio for other lengths."""
    return valid_minutes >= math.ceil(VALID_RATIO * minutes)


def summarize(
    meter_id: str, interval_start: int, interval_s: int, samples: Iterable[Sample], *,
    sample_period_s: float, ranges: Mapping[str, tuple[float, float]] | None = None,
    stopped_flow_m3_s: float = 0.0, channels: tuple[str, ...] = CHANNELS,
) -> IntervalSummary:
    """Average the samples of one interval; samples outside it are ignored. A sample counts
    when it is OK and has every one of `channels` (the meter's: CHANNELS and its extras)."""
    minutes = max(1, interval_s // MINUTE_S)
    minute_len = interval_s / minutes
    per_minute: list[list[Sample]] = [[] for _ in range(minutes)]
    causes: Counter[SampleStatus] = Counter()
    total = 0
    for s in samples:
        offset = s.t - interval_start
        if offset < 0 or offset >= interval_s:
            continue
        total += 1
        if s.status is SampleStatus.OK and all(c in s.values for c in channels):
            per_minute[min(minutes - 1, int(offset // minute_len))].append(s)
        else:
            causes[s.status if s.status is not SampleStatus.OK else SampleStatus.INVALID] += 1
    valid_means: list[dict[str, float]] = []
    ok_total = 0
    for minute in per_minute:
        ok_total += len(minute)
        if minute and minute_valid(len(minute), sample_period_s, minute_len):
            valid_means.append({c: math.fsum(s.values[c] for s in minute) / len(minute)
                                for c in channels})
    valid = interval_valid(len(valid_means), minutes)
    values: dict[str, float] = {}
    if valid:
        values = {c: math.fsum(m[c] for m in valid_means) / len(valid_means) for c in channels}
        if ranges is not None and not in_ranges(values, ranges):
            valid, values = False, {}
            flag = DataFlag.OVER_RANGE
        elif values["flow_m3_s"] <= stopped_flow_m3_s:
            flag = DataFlag.STOPPED
        else:
            flag = DataFlag.NORMAL
    else:
        flag = cause_flag(causes)
    return IntervalSummary(meter_id, interval_start, interval_s, valid, flag, ok_total, total,
                           len(valid_means), minutes, values)


def cause_flag(causes: Counter[SampleStatus]) -> DataFlag:
    """The flag of an invalid interval: the cause most samples carry; B when nothing arrived."""
    if not causes:
        return DataFlag.COMM_FAULT
    best = max(causes.values())
    for status, flag in _CAUSE_ORDER:
        if causes[status] == best:
            return flag
    return DataFlag.FAULT


def in_ranges(values: Mapping[str, float], ranges: Mapping[str, tuple[float, float]]) -> bool:
    return all(lo <= values[k] <= hi for k, (lo, hi) in ranges.items() if k in values)
