"""40 CFR 75 Appendix F, Equation F-11 with the rule's own K (5.7e-7 short ton/(scf %CO2)) for
readings that say they follow Part 75; the exact density stays the default, and readings, genesis
files and ledgers written before the choice keep their bytes and hashes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carbonlab.node import codec
from carbonlab.node.contract import ContractState, Reason, evaluate
from carbonlab.node.emissions import (
    CO2_DENSITY_KG_M3,
    PART75_CO2_DENSITY_KG_M3,
    Co2Method,
    co2_mass_kg,
)
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Basis, DataFlag, Reading
from tests.unit.node.factories import T0, make_genesis_json, make_kit, make_reading

# What the code before co2_method wrote for this reading (Reading(...).encode().hex() at 613948c)
OLD_READING_HEX = (
    "9fa26d3101ce6b0f5f803ccb4024000000000000a3776574cb4018000000000000cb4020000000000000cb405900"
    "0000000000cb4034000000000000cb405954cccccccccd3ca14ecb40911ea3d70a3d71c2")


def test_part75_hand_worked_hour() -> None:
    """F-11, E = K * C * Q, worked by hand: 10 % CO2 wet, 100 m3/s at 20 degC and 101.325 kPa
    (EPA standard conditions, so Q_std = Q) for 3600 s.
    Q = 360,000 m3 = 360,000 * 35.3146667 scf = 12,713,280 scf;
    E = 5.7e-7 * 10 * 12,713,280 = 72.465696 short tons = 72.465696 * 907.18474 kg = 65,739.77 kg.
    The exact density (44.01 g/mol / 24.0551 L/mol = 1.829548 kg/m3) gives 0.10 * 360,000 * 1.829548
    = 65,863.74 kg, 0.189 % more."""
    part75 = co2_mass_kg(10.0, "wet", 0.0, 100.0, 20.0, 101.325, 3600, Co2Method.PART75)
    assert part75 == pytest.approx(65_739.77, abs=0.01)
    exact = co2_mass_kg(10.0, "wet", 0.0, 100.0, 20.0, 101.325, 3600)
    assert exact == pytest.approx(65_863.74, abs=0.01)
    assert exact == co2_mass_kg(10.0, "wet", 0.0, 100.0, 20.0, 101.325, 3600, Co2Method.DENSITY)
    assert exact / part75 - 1 == pytest.approx(0.001886, abs=0.000001)
    assert pytest.approx(1.826105, abs=1e-6) == PART75_CO2_DENSITY_KG_M3
    assert pytest.approx(1.829548, abs=1e-6) == CO2_DENSITY_KG_M3


def _reading(method: Co2Method = Co2Method.DENSITY) -> Reading:
    return Reading("m1", 1, 1_796_169_600, 60, 10.0, Basis.WET, 6.0, 8.0, 100.0, 20.0, 101.325, 60,
                   DataFlag.NORMAL, 1095.66, False, method)


def test_density_reading_keeps_the_bytes_written_before_the_choice() -> None:
    # a ledger written by the earlier code holds these bytes; their hashes and signatures stand
    assert _reading().encode().hex() == OLD_READING_HEX
    old = Reading.from_wire(codec.decode(bytes.fromhex(OLD_READING_HEX)))
    assert old.co2_method is Co2Method.DENSITY
    assert old == _reading()


def test_part75_reading_says_so_on_the_wire_and_in_json() -> None:
    r = _reading(Co2Method.PART75)
    wire = codec.decode(r.encode())
    assert len(wire) == 16
    assert wire[-1] == "part75"
    assert Reading.from_wire(wire) == r
    assert r.encode() != _reading().encode()          # the method is under the signature
    assert r.to_json()["co2_method"] == "part75"
    assert Reading.from_json(r.to_json()) == r
    assert Reading.from_json(_reading().to_json()) == _reading()


def test_non_canonical_or_unknown_method_refused() -> None:
    wire = codec.decode(_reading().encode())
    with pytest.raises(SchemaError, match=r"reading\.co2_method: 'density' is the default"):
        Reading.from_wire([*wire, "density"])
    with pytest.raises(SchemaError, match=r"reading\.co2_method"):
        Reading.from_wire([*wire, "part76"])
    with pytest.raises(SchemaError, match="expected 15 items"):
        Reading.from_wire([*wire, "part75", 1])


def test_genesis_without_the_field_keeps_its_hash_and_means_density() -> None:
    raw = make_genesis_json(4)
    before = Genesis.from_json(raw)
    assert all(m.co2_method is Co2Method.DENSITY for m in before.meters)
    assert "co2_method" not in before.to_json()["meters"][0]
    raw["meters"][0]["co2_method"] = "part75"
    after = Genesis.from_json(raw)
    assert after.meters[0].co2_method is Co2Method.PART75
    assert Genesis.from_json(after.to_json()) == after
    assert after.hash != before.hash
    raw["meters"][0]["co2_method"] = "epa"
    with pytest.raises(SchemaError, match=r"meters\[0\]\.co2_method"):
        Genesis.from_json(raw)


KIT = make_kit(meters={"m1": {"co2_method": "part75"}})


def _verdict(reading: Reading) -> tuple[bool, Reason | None, str]:
    verdict, _ = evaluate(KIT.genesis, ContractState(), KIT.batch("gw1", 1, [reading]).encode())
    return verdict.accepted, verdict.reason, verdict.detail


def test_contract_recomputes_with_the_method_genesis_names() -> None:
    base = make_reading("m1", 1, T0)
    values = (base.co2_pct, "wet", base.h2o_pct, base.flow_m3_s, base.temp_c, base.pressure_kpa, 60)
    part75 = replace(base, co2_method=Co2Method.PART75, co2_kg=co2_mass_kg(*values, Co2Method.PART75))
    assert _verdict(part75) == (True, None, "")
    # the exact-density mass under a part75 label is 0.189 % off: not the rule's figure
    wrong_mass = replace(part75, co2_kg=co2_mass_kg(*values))
    accepted, reason, detail = _verdict(wrong_mass)
    assert (accepted, reason) == (False, Reason.CO2_MISMATCH)
    assert "co2_kg" in detail
    # a gateway may not choose the constant: m1 follows part75, m2 the default
    accepted, reason, detail = _verdict(base)
    assert (accepted, reason) == (False, Reason.CO2_MISMATCH)
    assert detail == "batch.readings[0].co2_method: 'density' but meter 'm1' follows 'part75'"
    m2 = replace(part75, meter_id="m2")
    accepted, reason, detail = _verdict(m2)
    assert detail == "batch.readings[0].co2_method: 'part75' but meter 'm2' follows 'density'"
