"""The edge forecast scored on the rig's emulated 600 MW unit (`carbonlab gateway forecast-eval`).

`evaluate_emulated` builds hourly CO2 mass from the rig's seeded unit profile
(`carbonlab.rig.meters.profile`), trains `carbonlab.gateway.forecast` on the first days
and scores a rolling-origin forecast over the held-out days (`forecast.evaluate`). It
lives here, not in the gateway, because it needs the rig's profile and the gateway may
not import the rig.
"""

from __future__ import annotations

import math
from typing import Any

from carbonlab.gateway import forecast
from carbonlab.node.emissions import co2_mass_kg
from carbonlab.rig.meters.profile import ProfileSpec, UnitProfile


def evaluate_emulated(*, seed: int = 42, days: int = 21, holdout_days: int = 7,
                      horizon_h: int = 6) -> dict[str, Any]:
    """Hourly CO2 mass of an emulated 600 MW unit; train on the first days, score the rest."""
    if holdout_days >= days:
        raise ValueError("holdout_days must be fewer than days")
    spec = ProfileSpec()
    unit = UnitProfile(spec, seed)
    hours = [0.0] * (days * forecast.SEASON)
    for t in range(days * 86400):
        v = unit.step(t).values
        hours[t // 3600] += co2_mass_kg(v["co2_pct"], spec.co2_basis, v["h2o_pct"], v["flow_m3_s"],
                                        v["temp_c"], v["pressure_kpa"], 1)
    train_h = (days - holdout_days) * forecast.SEASON
    return {"method": "additive Holt-Winters, damped trend, 24 h season, grid-fitted",
            "seed": seed, "days": days, "holdout_days": holdout_days, "horizon_h": horizon_h,
            "mean_hourly_kg": round(math.fsum(hours) / len(hours), 1),
            "scores": forecast.evaluate(hours, 0, train_h, horizon_h)}
