"""Hourly CO2 mass and energy of the rig's seeded emulated units (`carbonlab.rig.meters.profile`).

The data the planning and forecast backtests use (`carbonlab forecast backtest`): each unit
is a `UnitProfile` stepped once per second, as the rig's meters step it; the CO2 mass
follows from the analysers' values by the ledger's own formula (`co2_mass_kg`), the energy
from the load times capacity. It lives in bench because it needs the rig, and apps may
not import the rig; the result is plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.node.emissions import co2_mass_kg
from carbonlab.rig.meters.profile import ProfileSpec, UnitProfile


@dataclass(frozen=True, slots=True)
class UnitHours:
    seed: int
    capacity_mw: float
    co2_kg: tuple[float, ...]  # per hour, from hour 0 (midnight)
    mwh: tuple[float, ...]


def emulate(seed: int, days: int, *, capacity_mw: float = 600.0) -> UnitHours:
    spec = ProfileSpec(capacity_mw=capacity_mw)
    unit = UnitProfile(spec, seed)
    kg = [0.0] * (days * 24)
    mwh = [0.0] * (days * 24)
    for t in range(days * 86400):
        point = unit.step(t)
        v = point.values
        h = t // 3600
        kg[h] += co2_mass_kg(
            v["co2_pct"], spec.co2_basis, v["h2o_pct"], v["flow_m3_s"], v["temp_c"], v["pressure_kpa"], 1
        )
        mwh[h] += point.load * capacity_mw / 3600.0
    return UnitHours(seed, capacity_mw, tuple(kg), tuple(mwh))
