"""A seeded profile of a power unit following its load, one step per second.

Theory of operation. The unit moves through segments: HOLD (steady load), RAMP (towards
a new set point at a bounded rate), TRIP (load drops to zero at once; the unit stays
off for a while) and STARTUP (from light-off to minimum stable load, slowly). The
segment sequence comes from one `random.Random(seed)`, so two runs with the same seed
produce the same seconds. Flue gas follows from the load with simple, physically
consistent relations for a coal-fired unit:

- excess O2 falls as load rises (more excess air at low load), 20.9 % with the fire off;
- CO2 (dry) = CO2max * (1 - O2/20.9), CO2max = 18.5 % for bituminous coal, so CO2 and O2
  move against each other; on a wet basis it is scaled by (1 - H2O/100);
- stack flow is proportional to the fuel (and so to the load) plus a floor for the fans;
- flue temperature follows the load through a first-order lag of a few minutes;
- CH4 and N2O (ppm, dry) are those of a pulverised-coal unit: a few ppm of unburnt CH4,
  more at low load where combustion is poorer (2.5 ppm at full load, 6.5 at none), and
  1.5-3 ppm of N2O (pulverised-coal firing makes little; a fluidised bed would make tens of
  ppm), ambient air (1.9 ppm CH4, 0.33 ppm N2O) with the fire off;
- gross output is capacity x load; heat input is gross output / efficiency, the efficiency
  falling from 39 % at full load to 33.6 % at none (a subcritical coal unit's part-load curve).

The four newer channels (`EXTRA_CHANNELS`) get their noise from a second seeded generator,
so the older six channels of a seed are what they were before those existed.

A little seeded noise is added per second. Values are what the analysers would read; the
meter then applies faults (drift, stuck, spikes) on top, and logs both.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from carbonlab.emulation import ProfileSpec as ProfileSpec  # declared where the lab can check it

CO2_MAX_DRY_PCT = 18.5
O2_AIR_PCT = 20.9
AIR_CH4_PPM, AIR_N2O_PPM = 1.9, 0.33
EXTRA_CHANNELS = ("ch4", "n2o", "gross_mw", "heat_input_mw")   # ch4/n2o in ppm dry


def gross_efficiency(load: float) -> float:
    """Gross electrical output over heat input at `load` (fraction of capacity)."""
    return 0.336 + 0.054 * load


class Phase(StrEnum):
    HOLD = "hold"
    RAMP = "ramp"
    TRIP = "trip"
    STARTUP = "startup"


@dataclass(frozen=True, slots=True)
class Point:
    """One second of the unit."""

    t: int
    phase: Phase
    load: float                  # fraction of capacity, 0..1
    values: dict[str, float]     # channel -> value, as the analysers read it


class UnitProfile:
    def __init__(self, spec: ProfileSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.noise_rng = random.Random(seed * 7919 + 1)
        self.extra_rng = random.Random(seed * 7919 + 2)
        first = spec.initial_load
        self.load = self.rng.uniform(spec.min_load, 1.0) if first is None else first
        self.phase = Phase.HOLD if self.load > 0 else Phase.TRIP
        self.left_s = self.rng.uniform(*spec.hold_s) if self.load > 0 else 0.0
        self.target = self.load
        self.temp_c = 90.0 + 50.0 * self.load if self.load > 0 else 35.0

    def step(self, t: int) -> Point:
        """Advance one second and return it."""
        self._advance()
        return Point(t, self.phase, self.load, self._gas())

    def _advance(self) -> None:
        s = self.spec
        self.left_s -= 1.0
        if self.phase in (Phase.HOLD, Phase.RAMP) and self.rng.random() < s.trips_per_day / 86400.0:
            self.phase, self.load, self.left_s = Phase.TRIP, 0.0, self.rng.uniform(*s.off_s)
            return
        if self.phase is Phase.RAMP:
            rate = s.ramp_per_min / 60.0
            if abs(self.target - self.load) <= rate:
                self.load = self.target
                self.phase, self.left_s = Phase.HOLD, self.rng.uniform(*s.hold_s)
            else:
                self.load += math.copysign(rate, self.target - self.load)
        elif self.phase is Phase.STARTUP:
            self.load = min(s.min_load, self.load + s.min_load / s.startup_s)
            if self.load >= s.min_load:
                self._new_ramp()
        elif self.left_s <= 0:
            if self.phase is Phase.TRIP:
                self.phase, self.load = Phase.STARTUP, 0.0
            else:
                self._new_ramp()

    def _new_ramp(self) -> None:
        self.phase = Phase.RAMP
        self.target = round(self.rng.uniform(self.spec.min_load, 1.0), 3)

    def _gas(self) -> dict[str, float]:
        s, load = self.spec, self.load
        firing = load > 0.0
        # temperature lags the load with a 5 minute time constant
        target_temp = 90.0 + 50.0 * load if firing else 35.0
        self.temp_c += (target_temp - self.temp_c) / 300.0
        if firing:
            o2 = 3.5 + 4.5 * (1.0 - load)
            h2o = 7.0 + 2.0 * load
            co2_dry = CO2_MAX_DRY_PCT * (1.0 - o2 / O2_AIR_PCT)
            co2 = co2_dry * (1.0 - h2o / 100.0) if s.co2_basis == "wet" else co2_dry
            flow = s.full_flow_m3_s * (0.15 + 0.85 * load)
        else:
            o2, h2o, co2, flow = O2_AIR_PCT, 1.5, 0.04, 0.05 * s.full_flow_m3_s
        values = {"co2_pct": co2, "o2_pct": o2, "h2o_pct": h2o, "flow_m3_s": flow,
                  "temp_c": self.temp_c, "pressure_kpa": 101.3 + 0.5 * load}
        out = {k: round(v * (1.0 + self.noise_rng.gauss(0.0, s.noise)), 4) for k, v in values.items()}
        gross = s.capacity_mw * load
        extra = {"ch4": 2.5 + 4.0 * (1.0 - load) if firing else AIR_CH4_PPM,
                 "n2o": 1.5 + 1.5 * (1.0 - load) if firing else AIR_N2O_PPM,
                 "gross_mw": gross, "heat_input_mw": gross / gross_efficiency(load)}
        out.update({k: round(v * (1.0 + self.extra_rng.gauss(0.0, s.noise)), 4)
                    for k, v in extra.items()})
        return out
