"""CO2 mass per 40 CFR 75 Appendix F, against the regulation's own constant."""

from __future__ import annotations

import pytest

from carbonlab.node import emissions

SCF_PER_M3 = 35.3147
KG_PER_SHORT_TON = 907.18474


def test_si_density_matches_f11_constant() -> None:
    # K = 5.7e-7 short ton / (scf * %CO2) is the density of CO2 at 68 degF, 1 atm, rounded.
    k_si = emissions.CO2_DENSITY_KG_M3 / 100.0  # kg / (m3 * %)
    k_reg = emissions.F11_K_TON_PER_SCF_PCT * KG_PER_SHORT_TON * SCF_PER_M3
    assert k_si == pytest.approx(k_reg, rel=0.01)


def test_f11_worked_hour() -> None:
    # 10 % CO2 wet, 1,000,000 scfh for one hour: E = 5.7e-7 * 10 * 1e6 = 5.7 short tons.
    flow_m3_s = 1_000_000 / SCF_PER_M3 / 3600
    kg = emissions.co2_mass_kg(10.0, "wet", 0.0, flow_m3_s, 20.0, 101.325, 3600)
    assert kg / KG_PER_SHORT_TON == pytest.approx(5.7, rel=0.005)


def test_f2_moisture_correction() -> None:
    # Dry 12 % with 10 % moisture is 10.8 % wet.
    assert emissions.wet_co2_pct(12.0, "dry", 10.0) == pytest.approx(10.8)
    assert emissions.wet_co2_pct(12.0, "wet", 10.0) == 12.0


def test_standard_flow_corrects_temperature_and_pressure() -> None:
    assert emissions.standard_flow_m3_s(100.0, 20.0, 101.325) == pytest.approx(100.0)
    assert emissions.standard_flow_m3_s(100.0, 313.15 - 273.15, 101.325) == pytest.approx(
        100.0 * 293.15 / 313.15)
