"""Interval averaging, HJ 76-2017 validity and HJ 212 flags, against worked numbers."""

from __future__ import annotations

import pytest

from carbonlab.gateway import interval as iv
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.node.model import DataFlag

T0 = 1_700_000_040  # a multiple of 60

VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0}


def ok(t: float, **over: float) -> Sample:
    return Sample("m1", t, SampleStatus.OK, {**VALUES, **over})


def bad(t: float, status: SampleStatus) -> Sample:
    return Sample("m1", t, status, {} if status is SampleStatus.COMM_FAULT else dict(VALUES))


def test_align_is_utc_aligned() -> None:
    assert iv.align(T0 + 59.9, 60) == T0
    assert iv.align(T0 + 60, 60) == T0 + 60
    assert iv.align(3599.0, 3600) == 0


@pytest.mark.parametrize(("ok_samples", "period", "valid"), [
    (45, 1.0, True), (44, 1.0, False), (60, 1.0, True),   # 75 % of 60 expected samples
    (9, 5.0, True), (8, 5.0, False),                      # 12 expected, ceil(9) needed
])
def test_minute_rule(ok_samples: int, period: float, valid: bool) -> None:
    assert iv.minute_valid(ok_samples, period) is valid


@pytest.mark.parametrize(("valid_minutes", "minutes", "valid"), [
    (45, 60, True), (44, 60, False),    # HJ 76-2017: 45 valid minutes make a valid hour
    (1, 1, True), (0, 1, False), (4, 5, True), (3, 5, False),
])
def test_hour_rule(valid_minutes: int, minutes: int, valid: bool) -> None:
    assert iv.interval_valid(valid_minutes, minutes) is valid


def test_sixty_second_interval_averages_ok_samples_only() -> None:
    samples = [ok(T0 + i, co2_pct=10.0 + (i % 2)) for i in range(50)]       # mean 10.5
    samples += [bad(T0 + 50 + i, SampleStatus.COMM_FAULT) for i in range(10)]
    samples.append(ok(T0 + 60))                                             # next interval: ignored
    s = iv.summarize("m1", T0, 60, samples, sample_period_s=1.0)
    assert s.valid
    assert s.flag is DataFlag.NORMAL
    assert s.valid_samples == 50
    assert s.total_samples == 60
    assert s.values["co2_pct"] == pytest.approx(10.5)
    assert s.values["flow_m3_s"] == pytest.approx(300.0)


def test_too_few_valid_samples_takes_the_majority_cause() -> None:
    samples = [ok(T0 + i) for i in range(40)]
    samples += [bad(T0 + 40 + i, SampleStatus.CALIBRATING) for i in range(15)]
    samples += [bad(T0 + 55 + i, SampleStatus.COMM_FAULT) for i in range(5)]
    s = iv.summarize("m1", T0, 60, samples, sample_period_s=1.0)
    assert not s.valid
    assert s.flag is DataFlag.CALIBRATION
    assert s.values == {}
    assert s.valid_samples == 40


@pytest.mark.parametrize(("status", "flag"), [
    (SampleStatus.CALIBRATING, DataFlag.CALIBRATION), (SampleStatus.MAINTENANCE, DataFlag.MAINTENANCE),
    (SampleStatus.INVALID, DataFlag.FAULT), (SampleStatus.OVER_RANGE, DataFlag.OVER_RANGE),
    (SampleStatus.COMM_FAULT, DataFlag.COMM_FAULT),
])
def test_flag_per_status(status: SampleStatus, flag: DataFlag) -> None:
    s = iv.summarize("m1", T0, 60, [bad(T0 + i, status) for i in range(60)], sample_period_s=1.0)
    assert s.flag is flag


def test_no_sample_at_all_is_a_communication_fault() -> None:
    s = iv.summarize("m1", T0, 60, [], sample_period_s=1.0)
    assert not s.valid
    assert s.flag is DataFlag.COMM_FAULT
    assert s.total_samples == 0


def test_stopped_unit_is_flagged_f() -> None:
    s = iv.summarize("m1", T0, 60, [ok(T0 + i, flow_m3_s=0.0) for i in range(60)],
                     sample_period_s=1.0)
    assert s.valid
    assert s.flag is DataFlag.STOPPED


def test_average_outside_genesis_range_is_over_range() -> None:
    ranges = {"co2_pct": (0.0, 5.0)}
    s = iv.summarize("m1", T0, 60, [ok(T0 + i) for i in range(60)], sample_period_s=1.0,
                     ranges=ranges)
    assert not s.valid
    assert s.flag is DataFlag.OVER_RANGE


def test_hour_interval_needs_45_valid_minutes_and_averages_minute_means() -> None:
    hour = 3600
    start = 1_699_999_200  # multiple of 3600
    samples = []
    for minute in range(60):
        if minute < 45:
            # first half of each valid minute at 8 %, second half at 12 %; minute mean 10 %,
            # and minutes 30..44 read 20 %: hour mean = (30*10 + 15*20) / 45
            co2 = 20.0 if minute >= 30 else None
            for sec in range(60):
                value = co2 if co2 is not None else (8.0 if sec < 30 else 12.0)
                samples.append(ok(start + minute * 60 + sec, co2_pct=value))
        else:
            samples += [bad(start + minute * 60 + sec, SampleStatus.MAINTENANCE) for sec in range(60)]
    s = iv.summarize("m1", start, hour, samples, sample_period_s=1.0)
    assert s.valid
    assert s.valid_minutes == 45
    assert s.minutes == 60
    assert s.values["co2_pct"] == pytest.approx((30 * 10.0 + 15 * 20.0) / 45)
    # one more minute lost makes the hour invalid
    fewer = [x for x in samples if not (start + 44 * 60 <= x.t < start + 45 * 60)]
    s2 = iv.summarize("m1", start, hour, fewer, sample_period_s=1.0)
    assert not s2.valid
    assert s2.flag is DataFlag.MAINTENANCE
    assert s2.valid_minutes == 44


def test_ok_sample_missing_a_channel_does_not_count() -> None:
    samples = [Sample("m1", T0 + i, SampleStatus.OK, {"co2_pct": 10.0}) for i in range(60)]
    s = iv.summarize("m1", T0, 60, samples, sample_period_s=1.0)
    assert not s.valid
    assert s.flag is DataFlag.FAULT
