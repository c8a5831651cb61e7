"""The bounds of the planner's inputs, in one place: the dispatch and pathway problems check
them (so the CLI, the service and Python callers meet the same rule), the service's request
fields declare them.

Why these sizes: HiGHS treats magnitudes of 1e20 and above as infinite and loses precision long
before, so every coefficient that reaches it must stay many orders below. A price of at most
1e6 per tonne times an intensity of at most 10 t/MWh gives cost coefficients below 1e7 per MWh;
capacities below 1e6 MW and a year's 8,784 hours keep the pathway's energy bounds below 1e10 MWh.
Far above any real unit or market (the dirtiest lignite unit emits about 1.2 t/MWh; allowances
have traded below 200 per tonne), and far below where the solver or a float misbehaves: a curve
of `a = 1e300` was "solved" to a 300-digit optimum, and with a carbon price HiGHS stopped on
numerical trouble that was reported as the ramp limits.
"""

from __future__ import annotations

import math

from carbonlab.apps.compliance.model import MAX_PRICE_PER_T, MAX_T  # the records' bounds
from carbonlab.apps.errors import InputError

__all__ = ["MAX_PRICE_PER_T", "MAX_T", "check"]

MAX_MW = 1e6                   # a demand or capacity above a terawatt is a typo
MAX_MWH = MAX_MW * 8784        # a year of it
MAX_T_PER_MWH = 10.0           # a unit's CO2 rate is at most this per MW of its capacity
MAX_COST_PER_MWH = 1e6         # fuel
MAX_COST = 1e12                # no-load per hour, start-up, fixed per year, one-off options
MAX_DISCOUNT_RATE = 1.0        # 100 % a year; (1 + r)^-y then stays a normal float for 100 years
FIRST_YEAR, LAST_YEAR = 1990, 2200   # the years records.csv and the allowance records take


def check(where: str, value: float, hi: float, *, lo: float = 0.0) -> float:
    """`value` when it is finite and in [lo, hi], else an `InputError` naming `where`."""
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InputError(where, f"must be a finite number in [{lo:g}, {hi:g}], got {value!r}")
    return value
