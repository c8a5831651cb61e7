"""One poll of one meter: the boundary between the Modbus side and the interval averager."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class SampleStatus(StrEnum):
    OK = "ok"                      # values decoded, analyser reports system OK
    INVALID = "invalid"            # analyser flags the concentration invalid
    CALIBRATING = "calibrating"    # zero or span calibration in progress
    MAINTENANCE = "maintenance"
    OVER_RANGE = "over_range"      # a value outside the map's engineering range
    COMM_FAULT = "comm_fault"      # timeout, exception response, wrong count, disconnected


@dataclass(frozen=True, slots=True)
class Sample:
    """Decoded values of one poll. `values` keys are the channel names of the register map
    (co2_pct, o2_pct, h2o_pct, flow_m3_s, temp_c, pressure_kpa); empty on a comm fault."""

    meter_id: str
    t: float                      # unix seconds (UTC) when the poll was sent
    status: SampleStatus
    values: dict[str, float] = field(default_factory=dict)
    latency_s: float = 0.0
    detail: str = ""              # what went wrong, for logs and metrics
