"""Unit models: a unit's CO2 as a function of its load, fitted from interval readings.

Theory of operation. A thermal unit's fuel burn, and so its CO2, follows an input-output
curve that is close to quadratic in the electrical output P (the classic heat-rate curve):
`co2_t_h(P) = a + b*P + c*P^2` tonnes per hour while the unit runs. Its intensity in t/MWh is
then `a/P + b + c*P`: high at low load (the no-load burn spread over few MWh), lowest near
full load. A reading gives an interval's CO2 mass and its MWh; dividing both by the
interval's length in hours gives one (P, t/h) point, and the three coefficients follow by
ordinary least squares over the points where the unit produced (P > 0). The fit's error is
reported as the RMSE of the intensity (t/MWh) and of the rate (t/h), and R^2 of the rate.

`UnitLimits` (capacity, minimum stable load, ramp, fuel) come from the topology's
`companies:` section when a ledger source supplies it, or from a JSON file; the economic
terms (fuel cost, start-up cost) are planning inputs, not ledger data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from carbonlab.apps.errors import InputError
from carbonlab.apps.planning import bounds


@dataclass(frozen=True, slots=True)
class UnitLimits:
    unit: str
    capacity_mw: float
    min_mw: float
    ramp_mw_per_h: float
    fuel: str = "coal"

    def __post_init__(self) -> None:
        if not self.capacity_mw > 0:
            raise InputError(f"unit {self.unit}: capacity_mw", f"must be above 0, got {self.capacity_mw!r}")
        if not 0 <= self.min_mw <= self.capacity_mw:
            raise InputError(
                f"unit {self.unit}: min_mw",
                f"must be in [0, capacity_mw={self.capacity_mw}], got {self.min_mw!r}",
            )
        if not self.ramp_mw_per_h > 0:
            raise InputError(
                f"unit {self.unit}: ramp_mw_per_h", f"must be above 0, got {self.ramp_mw_per_h!r}"
            )


@dataclass(frozen=True, slots=True)
class IntensityCurve:
    """CO2 t/h = a + b*P + c*P^2 while running (P in MW)."""

    a: float
    b: float
    c: float

    def co2_t_h(self, mw: float) -> float:
        return self.a + self.b * mw + self.c * mw * mw

    def t_per_mwh(self, mw: float) -> float:
        if mw <= 0:
            raise ValueError("intensity is defined for a positive load only")
        return self.co2_t_h(mw) / mw


@dataclass(frozen=True, slots=True)
class FitReport:
    points: int
    rmse_t_per_mwh: float
    rmse_t_h: float
    r2: float


@dataclass(frozen=True, slots=True)
class IntervalPoint:
    """One reading's interval: its CO2 mass and energy."""

    co2_t: float
    mwh: float
    hours: float


@dataclass(frozen=True, slots=True)
class UnitModel:
    """What the planner knows of a unit: limits, CO2 curve, and its economic terms."""

    limits: UnitLimits
    curve: IntensityCurve
    fuel_cost_per_mwh: float = 30.0
    no_load_cost_per_h: float = 0.0
    startup_cost: float = 0.0
    fit: FitReport | None = None

    def __post_init__(self) -> None:
        where = f"unit {self.name}"
        cap = self.limits.capacity_mw
        bounds.check(f"{where}: capacity_mw", cap, bounds.MAX_MW)
        # each term of the curve at full load within MAX_T_PER_MWH x capacity: so the rate and every
        # cost coefficient HiGHS sees stays far below its numerical limits (bounds.py)
        most = bounds.MAX_T_PER_MWH * cap
        for name, term in (("a", self.curve.a), ("b", self.curve.b * cap), ("c", self.curve.c * cap * cap)):
            if not (math.isfinite(term) and abs(term) <= most):
                raise InputError(f"{where}: curve.{name}", f"{getattr(self.curve, name)!r} gives "
                                 f"{term:.6g} t/h at its capacity of {cap:g} MW; a curve's terms must stay "
                                 f"within {bounds.MAX_T_PER_MWH:g} t/MWh x capacity ({most:g} t/h)")
        bounds.check(f"{where}: fuel_cost_per_mwh", self.fuel_cost_per_mwh, bounds.MAX_COST_PER_MWH)
        bounds.check(f"{where}: no_load_cost_per_h", self.no_load_cost_per_h, bounds.MAX_COST)
        bounds.check(f"{where}: startup_cost", self.startup_cost, bounds.MAX_COST)

    @property
    def name(self) -> str:
        return self.limits.unit


def fit_curve(points: Sequence[IntervalPoint], *, unit: str = "unit") -> tuple[IntensityCurve, FitReport]:
    """Least-squares quadratic rate curve over the intervals with output; needs three distinct loads."""
    import numpy as np

    rows = [(p.mwh / p.hours, p.co2_t / p.hours) for p in points if p.mwh > 0 and p.hours > 0]
    for p in points:
        if p.co2_t < 0 or p.mwh < 0 or not (math.isfinite(p.co2_t) and math.isfinite(p.mwh)):
            raise InputError(f"unit {unit}: readings", f"an interval has co2_t={p.co2_t!r}, mwh={p.mwh!r}")
    loads = np.array([r[0] for r in rows])
    if len(rows) < 3 or len(np.unique(np.round(loads, 6))) < 3:
        raise InputError(
            f"unit {unit}: readings",
            f"need intervals at three or more distinct loads to fit the curve, got {len(rows)}",
        )
    rate = np.array([r[1] for r in rows])
    design = np.column_stack([np.ones_like(loads), loads, loads * loads])
    # scale the columns so the normal equations stay well conditioned at loads of hundreds of MW
    scale = np.abs(design).max(axis=0)
    coef, *_ = np.linalg.lstsq(design / scale, rate, rcond=None)
    coef = coef / scale
    fitted = design @ coef
    resid = rate - fitted
    ss_tot = float(((rate - rate.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else 1.0
    report = FitReport(
        points=len(rows),
        rmse_t_per_mwh=float(np.sqrt(((resid / loads) ** 2).mean())),
        rmse_t_h=float(np.sqrt((resid**2).mean())),
        r2=r2,
    )
    return IntensityCurve(float(coef[0]), float(coef[1]), float(coef[2])), report
