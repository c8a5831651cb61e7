"""A small builder for `scipy.optimize.milp` (HiGHS): named variable blocks, sparse rows.

The dispatch and pathway models write their constraints as rows of (column, coefficient);
this module turns them into the sparse matrix HiGHS takes and reads the status back into
the planner's error (`InfeasibleError` names the constraint family the caller says).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from carbonlab.apps.errors import AppsError, InfeasibleError, InputError


@dataclass
class Model:
    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[Sequence[tuple[int, float]], float, float]] = field(default_factory=list)

    def var(self, cost: float = 0.0, lo: float = 0.0, hi: float = math.inf, *, binary: bool = False) -> int:
        self.cost.append(cost)
        self.lower.append(lo)
        self.upper.append(1.0 if binary else hi)
        self.integer.append(1 if binary else 0)
        return len(self.cost) - 1

    def row(self, terms: Sequence[tuple[int, float]], lo: float = -math.inf, hi: float = math.inf) -> None:
        self.rows.append((terms, lo, hi))


@dataclass(frozen=True, slots=True)
class Solution:
    x: tuple[float, ...]
    objective: float
    mip_gap: float
    bound: float  # HiGHS's proven lower bound on the objective
    optimal: bool  # False: the time limit stopped HiGHS; x is its best schedule, within mip_gap


def solve(model: Model, *, what: str, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-6) -> Solution:
    """Solve to optimality (within `mip_rel_gap`); `what` names the problem in an infeasibility."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    r, c, v, lo, hi = [], [], [], [], []
    for i, (terms, row_lo, row_hi) in enumerate(model.rows):
        for col, coef in terms:
            r.append(i)
            c.append(col)
            v.append(coef)
        lo.append(row_lo)
        hi.append(row_hi)
    n = len(model.cost)
    if not all(math.isfinite(x) for x in (*model.cost, *v)):
        raise InputError(what, "a cost or CO2 coefficient overflows (is infinite or not a number): "
                               "check the units' curves, costs and the carbon price for absurd magnitudes")
    a = coo_matrix((v, (r, c)), shape=(len(model.rows), n)).tocsr()
    res = milp(
        c=np.array(model.cost),
        integrality=np.array(model.integer),
        bounds=Bounds(np.array(model.lower), np.array(model.upper)),
        constraints=[LinearConstraint(a, np.array(lo), np.array(hi))] if model.rows else [],
        options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap, "disp": False},
    )
    if res.status == 2:
        raise InfeasibleError(what, "HiGHS proves no schedule meets every constraint")
    if res.x is None and res.status == 1:   # HiGHS's time (or iteration) limit, not a constraint
        raise InputError("time_limit_s", f"HiGHS reached its time limit of {time_limit_s:g} s before it "
                         "found any schedule (no constraint was proved infeasible): give it longer "
                         "(--time-limit-s)")
    if res.x is None:
        raise AppsError(f"{what}: HiGHS stopped without a solution ({res.message})")
    if res.status not in (0, 1):
        raise AppsError(f"{what}: HiGHS stopped: {res.message}")
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    bound = float(getattr(res, "mip_dual_bound", res.fun))
    return Solution(tuple(float(x) for x in res.x), float(res.fun), gap, bound, res.status == 0)
