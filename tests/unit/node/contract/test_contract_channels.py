"""The contract's checks of wire version 2's channels: every rejection names the field."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from carbonlab.node.contract import ContractState, Reason, evaluate, reading_problem
from carbonlab.node.emissions import ConcUnit
from carbonlab.node.model import Basis, DataFlag, Reading
from tests.unit.node.factories import make_kit, make_reading, with_channels

CHANNELS: dict[str, Any] = {
    "gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 500.0]},
              "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 100.0]}},
    "load": {"gross_mw": [0.0, 700.0], "heat_input_mw": [0.0, 1800.0]}}
KIT = make_kit(meters={"m1": CHANNELS})      # m1 has every channel, m2 none


def good(meter: str = "m1") -> Reading:
    r = make_reading(meter, 1)
    if meter != "m1":
        return r
    return with_channels(r, ch4=(12.0, "ppm", "dry"), n2o=(4.5, "mg/m3", "wet"), gross_mw=300.0,
                         heat_mw=750.0)


def verdict_of(r: Reading) -> tuple[Reason | None, str | None]:
    verdict, _ = evaluate(KIT.genesis, ContractState(), KIT.batch("gw1", 1, [r]).encode())
    return verdict.reason, verdict.field


def test_readings_with_their_meter_channels_are_accepted() -> None:
    assert verdict_of(good()) == (None, None)
    assert verdict_of(good("m2")) == (None, None)
    assert reading_problem(KIT.genesis, "gw1", good()) is None


P = "batch.readings[0]"


@pytest.mark.parametrize(("change", "reason", "field"), [
    (lambda r: replace(r, ch4_kg=r.ch4_kg * 1.01), Reason.GAS_MISMATCH, f"{P}.ch4_kg"),
    (lambda r: replace(r, n2o_kg=r.n2o_kg + 0.01), Reason.GAS_MISMATCH, f"{P}.n2o_kg"),
    (lambda r: replace(r, ch4_conc=600.0), Reason.OUT_OF_RANGE, f"{P}.ch4_conc"),
    (lambda r: replace(r, n2o_conc=100.5), Reason.OUT_OF_RANGE, f"{P}.n2o_conc"),
    (lambda r: replace(r, ch4_unit=ConcUnit.MG_M3), Reason.CHANNEL_MISMATCH, f"{P}.ch4_unit"),
    (lambda r: replace(r, n2o_basis=Basis.DRY), Reason.CHANNEL_MISMATCH, f"{P}.n2o_basis"),
    (lambda r: replace(r, ch4_conc=None, ch4_unit=None, ch4_basis=None, ch4_kg=None),
     Reason.CHANNEL_MISMATCH, f"{P}.ch4_kg"),
    (lambda r: replace(r, gross_mwh=None), Reason.CHANNEL_MISMATCH, f"{P}.gross_mwh"),
    (lambda r: replace(r, heat_input_gj=None), Reason.CHANNEL_MISMATCH, f"{P}.heat_input_gj"),
    (lambda r: replace(r, gross_mwh=701.0 / 60), Reason.OUT_OF_RANGE, f"{P}.gross_mwh"),
    (lambda r: replace(r, gross_mwh=-0.1), Reason.OUT_OF_RANGE, f"{P}.gross_mwh"),
    (lambda r: replace(r, heat_input_gj=1801 * 0.06), Reason.OUT_OF_RANGE, f"{P}.heat_input_gj"),
    # 0.66 of the heat input: no boiler-turbine unit is that efficient
    (lambda r: replace(r, gross_mwh=0.66 * 750.0 / 60, heat_input_gj=750 * 0.06),
     Reason.LOAD_MISMATCH, f"{P}.gross_mwh"),
    (lambda r: replace(r, substituted=True), Reason.MALFORMED, f"{P}.flag"),
    (lambda r: replace(r, valid_samples=0), Reason.MALFORMED, f"{P}.substituted"),
], ids=["ch4_kg", "n2o_kg", "ch4_conc", "n2o_conc", "ch4_unit", "n2o_basis", "ch4 missing",
        "gross missing", "heat missing", "gross high", "gross negative", "heat high",
        "efficiency", "substituted N", "measured without samples"])
def test_each_new_field_is_checked_and_named(change: Any, reason: Reason, field: str) -> None:
    assert verdict_of(change(good())) == (reason, field)


def test_a_meter_without_channels_refuses_them() -> None:
    extra = with_channels(good("m2"), ch4=(12.0, "ppm", "dry"))
    assert verdict_of(extra) == (Reason.CHANNEL_MISMATCH, f"{P}.ch4_kg")
    assert verdict_of(replace(good("m2"), gross_mwh=1.0)) == (Reason.CHANNEL_MISMATCH,
                                                              f"{P}.gross_mwh")


def test_substitution_rules_hold_for_version_2_only() -> None:
    """A version-1 reading keeps the verdict it had before version 2 (old ledgers verify)."""
    assert verdict_of(replace(good("m2"), substituted=True)) == (None, None)
    marked = replace(good(), substituted=True, flag=DataFlag.FAULT, valid_samples=0)
    assert verdict_of(marked) == (None, None)


def test_mass_tolerance_is_relative_with_a_milligram_floor() -> None:
    r = good()
    assert r.ch4_kg is not None
    assert verdict_of(replace(r, ch4_kg=r.ch4_kg + 0.9e-6)) == (None, None)   # under 1 mg
    assert verdict_of(replace(r, ch4_kg=r.ch4_kg + 1.1e-6))[0] is Reason.GAS_MISMATCH
