"""The pathway MILP keeps every year under its cap and takes the cheapest options."""

from __future__ import annotations

import pytest

from carbonlab.apps.errors import InfeasibleError
from carbonlab.apps.planning.pathway import PathwayProblem, UnitOptions, declining_caps, solve_pathway
from carbonlab.apps.planning.units import IntensityCurve, UnitLimits, UnitModel

COAL = UnitModel(UnitLimits("coal", 100, 40, 50), IntensityCurve(0.0, 1.0, 0.0), 10.0)
GAS = UnitModel(UnitLimits("gas", 100, 20, 100), IntensityCurve(0.0, 0.4, 0.0), 40.0)
OPTIONS = (
    UnitOptions(
        "coal",
        fixed_cost_per_year=1000.0,
        retire_cost=5000.0,
        retrofit_cost=200_000.0,
        retrofit_cut=0.5,
        availability=1.0,
    ),
    UnitOptions("gas", fixed_cost_per_year=1000.0, retire_cost=10_000.0, availability=1.0),
)
DEMAND = (500_000.0,) * 4


def test_a_loose_cap_takes_no_costly_option_and_runs_the_cheap_unit_first() -> None:
    result = solve_pathway(PathwayProblem((COAL, GAS), OPTIONS, 2026, DEMAND, (1e9,) * 4, discount_rate=0.0))
    assert result.actions == ()
    assert all(
        y.generation_mwh[0] == pytest.approx(876_000 if d > 876_000 else d)
        for y, d in zip(result.years, DEMAND, strict=True)
    )


def test_a_declining_cap_is_met_every_year_with_options_taken_once() -> None:
    caps = declining_caps(500_000.0, 0.25, 4)
    result = solve_pathway(PathwayProblem((COAL, GAS), OPTIONS, 2026, DEMAND, caps, discount_rate=0.0))
    for year, cap in zip(result.years, caps, strict=True):
        assert year.emissions_t <= cap + 1e-6
        assert sum(year.generation_mwh) == pytest.approx(500_000.0)
    assert result.actions
    assert all(a.split(": ")[1] in ("retire coal", "retrofit coal") for a in result.actions)
    for year in result.years:
        assert year.retired in ((), ("coal",))
        if year.retired:
            assert year.generation_mwh[0] == pytest.approx(0.0, abs=1e-6)
    assert len(result.actions) == len(set(result.actions))


def test_a_cap_below_what_the_cleanest_mix_emits_is_refused_naming_the_cap() -> None:
    with pytest.raises(InfeasibleError, match=r"\(cap\)"):
        solve_pathway(PathwayProblem((COAL, GAS), OPTIONS, 2026, DEMAND, (100_000.0,) * 4))
