"""The faults an emulated meter can be switched into at run time, and how they change what it serves.

Each fault has an inverse: setting the field back to its default (or `DELETE .../faults`)
clears it. `apply_values` is pure: the meter calls it once per second with the
profile's true values and logs both what was true and what was served.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from carbonlab.checks import finite, shown
from carbonlab.rig.meters.errors import MetersConfigError

EXCEPTION_CODES = (1, 2, 3, 4, 5, 6, 10, 11)
CALIBRATION = ("", "zero", "span")


@dataclass
class Faults:
    offline: bool = False             # TCP: the listener closes (connection refused); RTU: no reply
    slow_s: float = 0.0               # each reply is delayed this long
    drift_pct_per_h: float = 0.0      # co2_pct drifts by this much (absolute %) per hour since set
    stuck: bool = False               # every channel frozen at the value of the second it was set
    spike_every_s: int = 0            # one second in every N carries a spike on co2_pct
    spike_pct: float = 5.0            # the spike's size (absolute %)
    exception_code: int = 0           # every read answered with this Modbus exception code
    wrong_device_id: int = 0          # replies carry this device id instead of the meter's
    calibration: str = ""             # "zero" or "span": in calibration, status bits set
    maintenance: bool = False
    invalid: bool = False             # analyser flags its concentration invalid
    garbage_bytes: int = 0            # this many random bytes go on the line before each reply
    # bookkeeping (not settable)
    since: dict[str, int] = field(default_factory=dict)     # fault -> second it was set
    frozen: dict[str, float] = field(default_factory=dict)  # stuck values

    def active(self) -> list[str]:
        defaults = Faults()
        return [name for name in SETTABLE
                if name != "spike_pct" and getattr(self, name) != getattr(defaults, name)]

    def update(self, changes: Mapping[str, Any], now_s: int) -> None:
        """Validate all of `changes` first, then apply them (no partial update)."""
        checked = {key: _check(key, value) for key, value in changes.items()}
        for key, value in checked.items():
            setattr(self, key, value)
            if value != getattr(Faults(), key):
                self.since.setdefault(key, now_s)
            else:
                self.since.pop(key, None)
        if not self.stuck:
            self.frozen.clear()

    def clear(self) -> None:
        self.__dict__.update(Faults().__dict__)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("frozen")
        return out

    def apply_values(self, true: Mapping[str, float], t: int, span_co2_pct: float,
                     coil_calibration: str = "") -> dict[str, float]:
        """What the meter serves in second `t` given the true values (and a calibration started
        through the coils, which acts like the calibration fault)."""
        served = dict(true)
        calibration = self.calibration or coil_calibration
        if calibration == "zero":
            served["co2_pct"], served["o2_pct"] = 0.0, 0.0
        elif calibration == "span":
            served["co2_pct"] = span_co2_pct
        if self.drift_pct_per_h:
            hours = (t - self.since.get("drift_pct_per_h", t)) / 3600.0
            served["co2_pct"] = served["co2_pct"] + self.drift_pct_per_h * hours
        if self.spike_every_s and t % self.spike_every_s == 0:
            served["co2_pct"] = served["co2_pct"] + self.spike_pct
        if self.stuck:
            if not self.frozen:
                self.frozen.update(served)
            served = dict(self.frozen)
        return served


SETTABLE = {f.name: f for f in dataclasses.fields(Faults) if f.name not in ("since", "frozen")}
KINDS: dict[str, type] = {name: type(getattr(Faults(), name)) for name in SETTABLE}


def _check(key: str, value: Any) -> Any:
    if key not in SETTABLE:
        raise MetersConfigError(f"fault {key!r}: unknown; allowed: {', '.join(sorted(SETTABLE))}")
    kind = KINDS[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise MetersConfigError(f"fault {key!r}: must be true or false, got {value!r}")
        return value
    if kind is str:
        if value not in CALIBRATION:
            raise MetersConfigError(f"fault {key!r}: must be one of '', 'zero', 'span'; got {value!r}")
        return value
    if finite(value) is None:          # an int too large for a float too
        raise MetersConfigError(f"fault {key!r}: must be a number, got {shown(value)}")
    if kind is int:
        if value != int(value):
            raise MetersConfigError(f"fault {key!r}: must be an integer, got {value!r}")
        value = int(value)
        limits = {"spike_every_s": (0, 86400), "wrong_device_id": (0, 247), "garbage_bytes": (0, 256)}
        if key == "exception_code":
            if value and value not in EXCEPTION_CODES:
                raise MetersConfigError(f"fault 'exception_code': must be 0 (off) or one of "
                                        f"{', '.join(map(str, EXCEPTION_CODES))}; got {value}")
        elif not limits[key][0] <= value <= limits[key][1]:
            raise MetersConfigError(f"fault {key!r}: must be {limits[key][0]}..{limits[key][1]}, got {value}")
        return value
    if key == "slow_s" and not 0.0 <= value <= 60.0:
        raise MetersConfigError(f"fault 'slow_s': must be 0..60 seconds, got {value}")
    return float(value)

