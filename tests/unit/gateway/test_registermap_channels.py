"""Register maps with and without the CH4/N2O/load/heat channels; strict errors name the field."""

from __future__ import annotations

from typing import Any

import pytest

from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import StatusFlags, load_register_map, parse_register_map
from carbonlab.gateway.sample import SampleStatus

BASE: dict[str, Any] = {
    "name": "m", "table": "holding", "encoding": "float32", "word_order": "high_first",
    "channels": {"co2_pct": {"address": 0, "min": 0, "max": 25},
                 "o2_pct": {"address": 2, "min": 0, "max": 25},
                 "h2o_pct": {"address": 4, "min": 0, "max": 40},
                 "flow_m3_s": {"address": 6, "min": 0, "max": 1000},
                 "temp_c": {"address": 8, "min": 0, "max": 300},
                 "pressure_kpa": {"address": 10, "min": 80, "max": 120}},
    "discrete_inputs": {"system_ok": 0, "invalid": 1}, "coils": {"start_zero": 0, "start_span": 1}}
SIX = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
       "pressure_kpa": 100.0}


def with_channels(**extra: Any) -> dict[str, Any]:
    return {**BASE, "channels": {**BASE["channels"], **extra}}


def test_a_map_without_the_new_channels_still_works() -> None:
    m = parse_register_map(BASE, "m.yaml")
    assert not m.has("ch4")
    assert not m.has("gross_mw")
    decoded = m.decode(m.encode(SIX), m.encode_status(StatusFlags()))
    assert decoded.status is SampleStatus.OK
    assert set(decoded.values) == set(SIX)


@pytest.mark.parametrize(("name", "unit", "basis"), [
    ("t100", "ppm", "dry"), ("float_inverse", "mg/m3", "wet"), ("daq_4_20ma", "ppm", "dry")])
def test_builtin_maps_state_unit_and_basis_per_gas(name: str, unit: str, basis: str) -> None:
    m = load_register_map(name)
    ch4 = m.channel("ch4")
    assert (ch4.unit, ch4.basis) == (unit, basis)
    assert m.has("gross_mw")
    assert m.has("heat_input_mw")
    assert m.has("n2o") == (name != "daq_4_20ma")     # at least one style has N2O


def test_heat_input_in_gj_per_hour_is_read_as_mw() -> None:
    m = load_register_map("float_inverse")
    spec = m.channel("heat_input_mw")
    assert (spec.unit, spec.key, spec.factor) == ("GJ/h", "heat_input_gj_h", 3.6)
    regs = m.encode({**SIX, "ch4": 1.0, "n2o": 1.0, "gross_mw": 300.0, "heat_input_mw": 800.0})
    raw = m._float_at(regs, spec.address)
    assert raw == pytest.approx(2880.0)                 # the register holds GJ/h
    assert m.decode(regs, m.encode_status(StatusFlags())).values["heat_input_mw"] == \
        pytest.approx(800.0)
    # over range is judged in the register's unit and names the map's key
    regs = m.encode({**SIX, "ch4": 1.0, "n2o": 1.0, "gross_mw": 300.0, "heat_input_mw": 2600.0})
    decoded = m.decode(regs, m.encode_status(StatusFlags()))
    assert decoded.status is SampleStatus.OVER_RANGE
    assert "heat_input_gj_h=9360" in decoded.detail


@pytest.mark.parametrize(("extra", "field"), [
    ({"ch4_ppm": {"address": 12, "min": 0, "max": 100}}, "channels.ch4_ppm.basis"),
    ({"ch4_ppm": {"address": 12, "min": 0, "max": 100, "basis": "moist"}}, "channels.ch4_ppm.basis"),
    ({"gross_mw": {"address": 12, "min": 0, "max": 100, "basis": "dry"}}, "channels.gross_mw.basis"),
    ({"ch4_ppb": {"address": 12, "min": 0, "max": 100}}, "channels.ch4_ppb"),
    ({"ch4_ppm": {"address": 12, "min": 0, "max": 100, "basis": "dry"},
      "ch4_mg_m3": {"address": 14, "min": 0, "max": 100, "basis": "dry"}}, "channels.ch4_mg_m3"),
    ({"heat_input_gj_h": {"address": 12, "min": 10, "max": 5}}, "channels.heat_input_gj_h.max"),
    ({"n2o_mg_m3": {"address": 10, "min": 0, "max": 5, "basis": "wet"}}, "n2o"),
])
def test_strict_errors_name_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_register_map(with_channels(**extra), "m.yaml")
    assert f"'{field}'" in str(err.value) or f"{field}:" in str(err.value), str(err.value)
