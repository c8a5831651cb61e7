"""CO2-equivalent by 100-year global warming potentials, with the set named per query.

The ledger stores each gas's mass (`co2_kg`, `ch4_kg`, `n2o_kg`) and never a CO2e figure:
which GWP set applies is a reporting choice (a regulator's, a year's), so a query names
it and gets the figure computed from the stored masses. The sets:

- AR5: IPCC Fifth Assessment Report, WG1 Table 8.7 (without climate-carbon feedbacks):
  CH4 28, N2O 265. The set of the UNFCCC reporting guidelines from 2024 and of the EU ETS
  monitoring rules.
- AR6: IPCC Sixth Assessment Report, WG1 Table 7.15: CH4 29.8 from fossil sources, 27.9 from
  non-fossil ones (the fossil value counts the CO2 its oxidation makes), N2O 273.

Stack CH4 at a coal- or gas-fired unit is fossil, hence `fossil=True` by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GwpSet(StrEnum):
    AR5 = "AR5"
    AR6 = "AR6"


@dataclass(frozen=True, slots=True)
class Gwp100:
    """One set's factors (kg CO2e per kg of the gas)."""

    ch4_fossil: float
    ch4_non_fossil: float
    n2o: float


GWP100: dict[GwpSet, Gwp100] = {
    GwpSet.AR5: Gwp100(ch4_fossil=28.0, ch4_non_fossil=28.0, n2o=265.0),
    GwpSet.AR6: Gwp100(ch4_fossil=29.8, ch4_non_fossil=27.9, n2o=273.0),
}


def co2e_kg(co2_kg: float, ch4_kg: float | None, n2o_kg: float | None, gwp: GwpSet,
            fossil: bool = True) -> float:
    """CO2-equivalent mass of the three gases under `gwp`; a gas the meter does not measure
    (None) contributes nothing."""
    factors = GWP100[gwp]
    total = co2_kg
    if ch4_kg is not None:
        total += ch4_kg * (factors.ch4_fossil if fossil else factors.ch4_non_fossil)
    if n2o_kg is not None:
        total += n2o_kg * factors.n2o
    return total
