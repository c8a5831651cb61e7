"""Wire version 2 (CH4, N2O, gross load, heat input): round trips, the fast and slow decoders
agree, and version-1 readings keep the bytes the code before version 2 wrote."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from carbonlab.node import codec
from carbonlab.node.crypto import Signer
from carbonlab.node.emissions import Co2Method
from carbonlab.node.errors import SchemaError
from carbonlab.node.gwp import GwpSet, co2e_kg
from carbonlab.node.model import Basis, Batch, ConcUnit, Reading, _from_wire_fast, _from_wire_v2
from tests.unit.node.test_model import reading

# SHA-256 of the canonical bytes of test_model.reading() and of the same with co2_method
# part75, as written by the code at main before wire version 2 existed (1d683e7).
V1_DIGEST = "cc74b4d1a13f1120df48a0e365642a9e31d0f2938c4b2e9bfbf05c19e3373c5a"
V1_PART75_DIGEST = "4d5403d8e519fb6eabc2a0652e3759c94ccd0867f84f9aeea79573dda42849c6"


def full(**kw: object) -> Reading:
    base: dict[str, object] = dict(
        ch4_conc=12.5, ch4_unit=ConcUnit.PPM, ch4_basis=Basis.DRY, ch4_kg=0.61,
        n2o_conc=3.25, n2o_unit=ConcUnit.MG_M3, n2o_basis=Basis.WET, n2o_kg=0.03,
        gross_mwh=9.5, heat_input_gj=80.25)
    base.update(kw)
    return reading(**base)


def test_a_version_1_reading_keeps_the_bytes_written_before_version_2() -> None:
    assert reading().to_wire()[0] == "m1"
    assert len(reading().to_wire()) == 15
    assert hashlib.sha256(reading().encode()).hexdigest() == V1_DIGEST
    part75 = reading(co2_method=Co2Method.PART75)
    assert hashlib.sha256(part75.encode()).hexdigest() == V1_PART75_DIGEST
    for r in (reading(), part75):
        assert Reading.from_wire(codec.decode(r.encode())) == r
        assert r.ch4_kg is None
        assert r.n2o_kg is None
        assert r.gross_mwh is None


@pytest.mark.parametrize("r", [
    full(), full(n2o_conc=None, n2o_unit=None, n2o_basis=None, n2o_kg=None),
    reading(gross_mwh=0.0), reading(heat_input_gj=12.0),
    full(co2_method=Co2Method.PART75, ch4_unit=ConcUnit.MG_M3, ch4_basis=Basis.WET),
], ids=["all", "no-n2o", "load-only", "heat-only", "part75"])
def test_version_2_round_trips_through_wire_and_json(r: Reading) -> None:
    wire = r.to_wire()
    assert wire[0] == 2
    assert len(wire) == 21
    assert _from_wire_fast(wire) == r                       # the fast path takes it
    assert _from_wire_v2(wire, "reading") == r              # and agrees with the slow one
    assert Reading.from_wire(codec.decode(r.encode())) == r
    assert Reading.from_json(json.loads(json.dumps(r.to_json()))) == r
    batch = Batch("chain", "gw1", 1, (reading(1), replace(r, seq=2))).signed(Signer.generate())
    assert Batch.decode(batch.encode()) == batch


def test_json_has_every_channel_null_when_absent() -> None:
    out = reading().to_json()
    assert out["ch4_kg"] is None
    assert out["ch4_unit"] is None
    assert out["heat_input_gj"] is None
    assert full().to_json()["ch4_unit"] == "ppm"
    assert full().to_json()["n2o_unit"] == "mg/m3"
    assert Reading.from_json(out) == reading()


@pytest.mark.parametrize(("index", "value", "field"), [
    (17, [12.5, "ppb", "dry", 0.61], "reading.ch4_unit"),
    (17, [12.5, "ppm", "moist", 0.61], "reading.ch4_basis"),
    (17, [12.5, "ppm", "dry"], "reading.ch4"),
    (17, ["x", "ppm", "dry", 0.61], "reading.ch4_conc"),
    (18, [1.0, "ppm", "dry", float("nan")], "reading.n2o_kg"),
    (19, "9.5", "reading.gross_mwh"),
    (20, float("inf"), "reading.heat_input_gj"),
    (16, "mass", "reading.co2_method"),
    (0, 3, "reading[0]"),
], ids=lambda v: str(v)[:20])
def test_version_2_errors_name_the_field(index: int, value: object, field: str) -> None:
    wire = full().to_wire()
    wire[index] = value
    assert _from_wire_fast(wire) is None
    with pytest.raises(SchemaError) as err:
        Reading.from_wire(wire)
    assert err.value.field == field


def test_a_version_2_form_without_new_channels_is_not_canonical() -> None:
    wire = full().to_wire()
    wire[17:21] = [None, None, None, None]
    assert _from_wire_fast(wire) is None
    with pytest.raises(SchemaError, match="version 1"):
        Reading.from_wire(wire)
    short = full().to_wire()[:20]
    with pytest.raises(SchemaError, match="21 items"):
        Reading.from_wire(short)


def test_a_gas_channel_is_all_four_fields_or_none() -> None:
    with pytest.raises(SchemaError) as err:
        reading(ch4_kg=1.0).to_wire()
    assert err.value.field == "reading.ch4_conc"
    with pytest.raises(SchemaError) as err2:
        Reading.from_json({**full().to_json(), "ch4_kg": None})
    assert err2.value.field == "reading.ch4_kg"


def test_co2e_by_named_gwp_sets() -> None:
    assert co2e_kg(1000.0, None, None, GwpSet.AR5) == 1000.0
    assert co2e_kg(1000.0, 2.0, 0.5, GwpSet.AR5) == pytest.approx(1000 + 56 + 132.5)
    assert co2e_kg(1000.0, 2.0, 0.5, GwpSet.AR6) == pytest.approx(1000 + 59.6 + 136.5)
    assert co2e_kg(0.0, 1.0, None, GwpSet.AR6, fossil=False) == pytest.approx(27.9)
