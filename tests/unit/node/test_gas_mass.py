"""The CH4 conversion against docs/emissions.md's worked example, computed by hand there."""

from __future__ import annotations

import pytest

from carbonlab.node import emissions
from carbonlab.node.emissions import Gas, gas_mass_kg, mg_m3_of, normal_flow_m3_s
from carbonlab.node.gwp import GwpSet, co2e_kg


def test_the_docs_worked_example_step_by_step() -> None:
    assert pytest.approx(22.41397, abs=1e-5) == emissions.NORMAL_MOLAR_VOLUME_L
    assert mg_m3_of(5.0, "ppm", Gas.CH4) == pytest.approx(3.57879, abs=1e-5)        # step 1
    wet = normal_flow_m3_s(500.0, 130.0, 101.0, "wet", 8.0)
    assert wet == pytest.approx(337.683, abs=1e-3)                                    # step 2
    assert normal_flow_m3_s(500.0, 130.0, 101.0, "dry", 8.0) == pytest.approx(310.668, abs=1e-3)
    kg = gas_mass_kg(Gas.CH4, 5.0, "ppm", "dry", 8.0, 500.0, 130.0, 101.0, 3600)
    assert kg == pytest.approx(4.0025, abs=1e-4)                                      # step 4
    # the same gas read wet in mg/m3 gives the same mass
    assert gas_mass_kg(Gas.CH4, 3.29249, "mg/m3", "wet", 8.0, 500.0, 130.0, 101.0,
                       3600) == pytest.approx(kg, rel=1e-5)
    assert co2e_kg(0.0, kg, None, GwpSet.AR6) == pytest.approx(119.3, abs=0.05)


def test_ppm_mass_does_not_depend_on_the_reference_temperature() -> None:
    """ppm x flow is a molar flow: at 20 degC the mass is the same as at 0 degC."""
    q20 = emissions.standard_flow_m3_s(500.0, 130.0, 101.0)
    mol_s = q20 / (emissions.STD_MOLAR_VOLUME_M3)
    by_moles = 5e-6 * mol_s * 16.043 / 1000.0 * 3600
    wet_ppm = 5.0    # wet basis: no moisture step
    assert gas_mass_kg(Gas.CH4, wet_ppm, "ppm", "wet", 8.0, 500.0, 130.0, 101.0,
                       3600) == pytest.approx(by_moles, rel=1e-12)
