"""Spike and stuck-value marks: what the contract remembers about each meter's recent values.

Theory of operation. A meter's *baseline* is the last values of the watched measures
(CO2 concentration and stack flow: the two factors of the CO2 mass) taken from its last
accepted *normal* reading (flag N, not substituted), and for each measure how many
normal readings in a row carried exactly that value. A reading is a spike when a
watched measure changed by more than `meter.spike_ratio` relative to the baseline, and
stuck when a watched measure has held the same value for `meter.stuck_intervals`
normal readings in a row (this one included).

Readings taken during calibration, maintenance, a stop or a fault, and substituted
readings, neither get these marks nor move the baseline: the first normal reading
after a calibration is compared with the last normal one before it, not with the
calibration gas. Gaps between readings do not reset the baseline, so a value frozen
across an outage is still counted as stuck.

Baselines are immutable values so that the contract can evaluate a batch against an
overlay of the state without copying or mutating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from carbonlab.node.genesis import MeterInfo
from carbonlab.node.model import DataFlag, Reading
from carbonlab.node.schema import as_float, as_int, as_list

WATCHED = ("co2_pct", "flow_m3_s")   # `advance` reads these two by name
_TINY = 1e-12


class Anomaly(StrEnum):
    """Marks on accepted readings: plausible but worth a verifier's look."""

    SPIKE = "spike"
    STUCK = "stuck"
    CALIBRATION = "calibration"
    MAINTENANCE = "maintenance"
    SUBSTITUTED = "substituted"


@dataclass(frozen=True, slots=True)
class Baseline:
    """Last normal values of the watched measures and how many readings in a row held them."""

    values: tuple[float, ...]
    runs: tuple[int, ...]

    def to_wire(self) -> list[Any]:
        return [list(self.values), list(self.runs)]

    @classmethod
    def from_wire(cls, value: Any, path: str = "baseline") -> Baseline:
        values, runs = as_list(value, path, length=2)
        return cls(
            tuple(as_float(v, f"{path}.values[{i}]")
                  for i, v in enumerate(as_list(values, f"{path}.values", length=len(WATCHED)))),
            tuple(as_int(r, f"{path}.runs[{i}]", lo=1)
                  for i, r in enumerate(as_list(runs, f"{path}.runs", length=len(WATCHED)))),
        )


def is_normal(reading: Reading) -> bool:
    return reading.flag is DataFlag.NORMAL and not reading.substituted


def flag_marks(reading: Reading) -> list[Anomaly]:
    marks: list[Anomaly] = []
    if reading.flag is DataFlag.CALIBRATION:
        marks.append(Anomaly.CALIBRATION)
    if reading.flag is DataFlag.MAINTENANCE:
        marks.append(Anomaly.MAINTENANCE)
    if reading.substituted:
        marks.append(Anomaly.SUBSTITUTED)
    return marks


def _watched(reading: Reading) -> tuple[float, ...]:
    return (reading.co2_pct, reading.flow_m3_s)


def relative_change(previous: float, current: float) -> float:
    return abs(current - previous) / max(abs(previous), _TINY)


# A Baseline made through its slots' descriptors, without the frozen dataclass's __init__ (one
# object.__setattr__ per field): `assess` makes one for every normal reading the contract sees.
_NEW = object.__new__
_SET_VALUES, _SET_RUNS = (getattr(Baseline, name).__set__ for name in ("values", "runs"))
_NORMAL = DataFlag.NORMAL


def _baseline(values: tuple[float, float], runs: tuple[int, int]) -> Baseline:
    made: Baseline = _NEW(Baseline)
    _SET_VALUES(made, values)
    _SET_RUNS(made, runs)
    return made


def advance(baseline: Baseline | None, reading: Reading) -> Baseline | None:
    """The meter's baseline after `reading`; only normal readings move it."""
    # written out for the two WATCHED measures: this runs for every reading the contract sees
    if reading.flag is not _NORMAL or reading.substituted:
        return baseline
    co2, flow = reading.co2_pct, reading.flow_m3_s
    if baseline is None:
        return _baseline((co2, flow), (1, 1))
    (old_co2, old_flow), (run_co2, run_flow) = baseline.values, baseline.runs
    return _baseline((co2, flow), (run_co2 + 1 if old_co2 == co2 else 1,
                                   run_flow + 1 if old_flow == flow else 1))


def assess(meter: MeterInfo, baseline: Baseline | None,
           reading: Reading) -> tuple[list[Anomaly], Baseline | None]:
    """The reading's marks against the meter's baseline, and the baseline after it."""
    if reading.flag is not _NORMAL or reading.substituted:
        return flag_marks(reading), baseline     # a reading that is not normal moves nothing
    # `advance` and the two WATCHED measures written out (`relative_change` of each, then the
    # longest run): this runs for every reading the contract sees
    co2, flow = reading.co2_pct, reading.flow_m3_s
    if baseline is None:
        return [], _baseline((co2, flow), (1, 1))
    (old_co2, old_flow), (run_co2, run_flow) = baseline.values, baseline.runs
    run_co2 = run_co2 + 1 if old_co2 == co2 else 1
    run_flow = run_flow + 1 if old_flow == flow else 1
    marks: list[Anomaly] = []
    ratio = meter.spike_ratio
    if abs(co2 - old_co2) / max(abs(old_co2), _TINY) > ratio \
            or abs(flow - old_flow) / max(abs(old_flow), _TINY) > ratio:
        marks.append(Anomaly.SPIKE)
    if (run_co2 if run_co2 > run_flow else run_flow) >= meter.stuck_intervals:
        marks.append(Anomaly.STUCK)
    return marks, _baseline((co2, flow), (run_co2, run_flow))
