"""CO2 mass from CEMS averages, in the form of 40 CFR 75 Appendix F.

Equation F-11 gives the hourly CO2 mass rate from a wet-basis CO2 concentration and
a wet-basis stack flow at standard conditions:

    E = K * C_wet * Q_std            (K = 5.7e-7 short ton / (scf * %CO2))

K is the density of CO2 at EPA standard conditions (20 degC, 101.325 kPa: one
lb-mole of ideal gas is 385.3 scf), 44.01 lb/lbmol / 385.3 scf / 2000 lb/ton / 100.
In SI the same density is 44.01 g/mol / 24.055 L/mol = 1.8296 kg/m3 at 20 degC.

Where the analyser reports CO2 on a dry basis, Equation F-2's moisture correction
turns it into wet:  C_wet = C_dry * (100 - %H2O) / 100.

Our meters report the actual flow at stack temperature and pressure; the ideal gas
law takes it to standard conditions: Q_std = Q_act * (P / 101.325) * (293.15 / T_K).
The gateway computes `co2_kg` with this function; the contract recomputes it.

Two constants, and a reading says which one it follows (`Co2Method`, from its meter's
genesis entry): `density` (the default, and what every reading before the choice used) is
the exact density above, 1.829548 kg/m3; `part75` is the rule's own rounded K = 5.7e-7
short ton/(scf %CO2) converted to SI: 5.7e-7 * 907.18474 kg/ton * 35.3146667 scf/m3 * 100 %
= 1.826105 kg/m3, so `density` gives 0.189 % more CO2 than `part75` (docs/gateway.md).
"""

from __future__ import annotations

from enum import StrEnum

CO2_MOLAR_MASS_G_MOL = 44.01
STD_TEMP_K = 293.15
STD_PRESSURE_KPA = 101.325
GAS_CONSTANT_J_MOL_K = 8.314462618
# m3/mol of an ideal gas at EPA standard conditions (0.024055 m3/mol)
STD_MOLAR_VOLUME_M3 = GAS_CONSTANT_J_MOL_K * STD_TEMP_K / (STD_PRESSURE_KPA * 1000.0)
CO2_DENSITY_KG_M3 = CO2_MOLAR_MASS_G_MOL / 1000.0 / STD_MOLAR_VOLUME_M3
# K of Equation F-11 in its own units, kept to check the SI form against the regulation.
F11_K_TON_PER_SCF_PCT = 5.7e-7
ABSOLUTE_ZERO_C = -273.15
KG_PER_SHORT_TON = 0.45359237 * 2000.0            # exact: the avoirdupois pound is 0.45359237 kg
SCF_PER_M3 = 1.0 / 0.3048 ** 3                    # exact: the foot is 0.3048 m (35.3146667)
# K of Equation F-11 as a density in kg/m3 (1.826105): what a `part75` reading uses
PART75_CO2_DENSITY_KG_M3 = F11_K_TON_PER_SCF_PCT * KG_PER_SHORT_TON * SCF_PER_M3 * 100.0


class Co2Method(StrEnum):
    """Which CO2 density a reading's `co2_kg` follows."""

    DENSITY = "density"   # the exact density of CO2 at 20 degC, 101.325 kPa (1.829548 kg/m3)
    PART75 = "part75"     # 40 CFR 75 Appendix F, F-11's K = 5.7e-7 short ton/(scf %CO2)


_DENSITY_KG_M3 = {Co2Method.DENSITY: CO2_DENSITY_KG_M3, Co2Method.PART75: PART75_CO2_DENSITY_KG_M3}


def wet_co2_pct(co2_pct: float, basis: str, h2o_pct: float) -> float:
    """Equation F-2's moisture correction: a dry-basis concentration as wet basis."""
    if basis == "dry":
        return co2_pct * (100.0 - h2o_pct) / 100.0
    return co2_pct


def standard_flow_m3_s(flow_m3_s: float, temp_c: float, pressure_kpa: float) -> float:
    """Actual stack flow (m3/s at temp_c, pressure_kpa) as flow at 20 degC, 101.325 kPa."""
    return flow_m3_s * (pressure_kpa / STD_PRESSURE_KPA) * (STD_TEMP_K / (temp_c - ABSOLUTE_ZERO_C))


def co2_mass_kg(
    co2_pct: float, basis: str, h2o_pct: float, flow_m3_s: float, temp_c: float,
    pressure_kpa: float, interval_s: int, method: Co2Method = Co2Method.DENSITY,
) -> float:
    """CO2 mass emitted over the interval, Equation F-11 in SI units, with `method`'s density."""
    c_wet = wet_co2_pct(co2_pct, basis, h2o_pct)
    q_std = standard_flow_m3_s(flow_m3_s, temp_c, pressure_kpa)
    return _DENSITY_KG_M3[method] * (c_wet / 100.0) * q_std * interval_s


def mass_matches(claimed_kg: float, computed_kg: float) -> bool:
    """The contract's tolerance: 1e-6 relative or 1 g, whichever is larger."""
    return abs(claimed_kg - computed_kg) <= max(1e-3, 1e-6 * abs(computed_kg))


# --- CH4 and N2O (wire version 2) -------------------------------------------------------
#
# A gas analyser channel reports either ppm (umol/mol) or mg/m3 at *normal* conditions,
# 273.15 K and 101.325 kPa (the reference of HJ 75-2017 and EN 14181, not the 20 degC of
# Part 75), each on its own basis, wet or dry. The mass takes the flow path of CO2: the
# actual stack flow to standard conditions by the ideal gas law, corrected for moisture
# where the concentration is dry (F-2's correction applied to the flow instead of the
# concentration: C_dry * Q_dry = C_dry * (1 - H2O) * Q_wet = C_wet * Q_wet), then
#     m = C[mg/m3] * Q_normal[m3/s] * t / 1e6   kg,
# with a ppm reading first turned into mg/m3 at normal conditions:
#     C[mg/m3] = ppm * M[g/mol] / V_m[L/mol],  V_m = R * 273.15 K / 101.325 kPa = 22.414 L/mol.
# docs/gateway.md works one interval through by hand; tests/unit/node/test_gas_mass.py checks
# this code reproduces it.

NORMAL_TEMP_K = 273.15
# L/mol (= m3/kmol) of an ideal gas at 273.15 K, 101.325 kPa: 22.41397
NORMAL_MOLAR_VOLUME_L = GAS_CONSTANT_J_MOL_K * NORMAL_TEMP_K / STD_PRESSURE_KPA


class ConcUnit(StrEnum):
    """How a gas analyser channel reports: ppm by volume, or mg per m3 of gas at 273.15 K
    and 101.325 kPa; either on the channel's own basis (wet or dry)."""

    PPM = "ppm"
    MG_M3 = "mg/m3"


class Gas(StrEnum):
    CH4 = "ch4"
    N2O = "n2o"


MOLAR_MASS_G_MOL = {Gas.CH4: 16.043, Gas.N2O: 44.013}


def normal_flow_m3_s(flow_m3_s: float, temp_c: float, pressure_kpa: float, basis: str,
                     h2o_pct: float) -> float:
    """Actual stack flow as flow at 273.15 K, 101.325 kPa, of dry gas where `basis` is dry."""
    q = flow_m3_s * (pressure_kpa / STD_PRESSURE_KPA) * (NORMAL_TEMP_K / (temp_c - ABSOLUTE_ZERO_C))
    return q * (100.0 - h2o_pct) / 100.0 if basis == "dry" else q


def mg_m3_of(conc: float, unit: str, gas: Gas) -> float:
    """A channel's concentration in mg/m3 at normal conditions (on the channel's basis)."""
    if unit == ConcUnit.PPM:
        return conc * MOLAR_MASS_G_MOL[gas] / NORMAL_MOLAR_VOLUME_L
    return conc


def gas_mass_kg(gas: Gas, conc: float, unit: str, basis: str, h2o_pct: float, flow_m3_s: float,
                temp_c: float, pressure_kpa: float, interval_s: int) -> float:
    """CH4 or N2O mass over the interval from one channel's average and the stack flow."""
    q = normal_flow_m3_s(flow_m3_s, temp_c, pressure_kpa, basis, h2o_pct)
    return mg_m3_of(conc, unit, gas) * q * interval_s / 1e6


# gross electrical output over heat input: above this no boiler-turbine unit runs (the best
# combined-cycle units reach about 0.64 on the lower heating value)
MAX_GROSS_EFFICIENCY = 0.65
GJ_PER_MWH = 3.6


def gas_mass_matches(claimed_kg: float, computed_kg: float) -> bool:
    """The CO2 rule's 1e-6 relative tolerance with a 1 mg floor instead of 1 g: a minute's CH4
    at 12 ppm is about 30 g, so the CO2 rule's gram would let 3 % go unchecked, while float64
    rounding is below a microgram here."""
    return abs(claimed_kg - computed_kg) <= max(1e-6, 1e-6 * abs(computed_kg))
