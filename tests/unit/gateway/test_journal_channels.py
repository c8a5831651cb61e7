"""The averager with CH4, N2O, gross load and heat input: averages by the same HJ 76 rules,
masses by the same flow path as CO2, substitution with the substituted flag, and readings the
contract accepts (run through the real contract with a genesis declaring the channels)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store
from carbonlab.node.channels import gases_from_json, load_from_json
from carbonlab.node.contract import ContractState, evaluate
from carbonlab.node.emissions import ConcUnit, Gas, gas_mass_kg
from carbonlab.node.genesis import DEFAULT_RANGES
from carbonlab.node.model import Basis, Batch, DataFlag
from tests.unit.node.factories import make_kit, signer_for

T0 = 1_700_000_040
CHANNELS = {"gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 200.0]},
                      "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0.0, 100.0]}},
            "load": {"gross_mw": [0.0, 700.0], "heat_input_mw": [0.0, 1800.0]}}
VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0, "ch4": 4.0, "n2o": 3.0, "gross_mw": 300.0, "heat_input_mw": 800.0}


def spec(channels: bool = True) -> MeterSpec:
    gases = gases_from_json(CHANNELS["gases"], "g") if channels else None
    load = load_from_json(CHANNELS["load"], "l") if channels else load_from_json({}, "l")
    return MeterSpec("m1", 1.0, Basis.WET, DEFAULT_RANGES, 14.0, 900.0, gases=gases, load=load)


def journal(tmp_path: Path, meter: MeterSpec) -> Journal:
    params = JournalParams("carbonlab-test", "gw1", interval_s=60, close_delay_s=2.0, hold_s=600.0)
    return Journal(Store(tmp_path / "gw.db"), params, (meter,), signer_for("gw1"))


def minute(start: int, count: int = 60, **over: float) -> list[Sample]:
    return [Sample("m1", start + i + 0.5, SampleStatus.OK, {**VALUES, **over}) for i in range(count)]


def accepted(batches: list[Batch]) -> None:
    kit = make_kit(gateways={"gw1": ("m1",)}, meters={"m1": CHANNELS})
    state = ContractState()
    for b in batches:
        verdict, _ = evaluate(kit.genesis, state, b.encode())
        assert verdict.accepted, verdict.detail


def test_a_valid_interval_carries_masses_load_and_heat(tmp_path: Path) -> None:
    j = journal(tmp_path, spec())
    j.add_samples([], now=T0 - 1)
    # half the minute at 300 MW, half at 320: the average is 310
    j.add_samples(minute(T0, 30) + [Sample("m1", T0 + 30 + i + 0.5, SampleStatus.OK,
                                           {**VALUES, "gross_mw": 320.0, "ch4": 6.0})
                                    for i in range(30)], now=T0 + 60)
    (batch,) = j.seal(now=T0 + 62)
    (r,) = batch.readings
    assert (r.flag, r.substituted, r.wire_version) == (DataFlag.NORMAL, False, 2)
    assert r.ch4_conc == pytest.approx(5.0)
    assert (r.ch4_unit, r.ch4_basis) == (ConcUnit.PPM, Basis.DRY)
    assert r.ch4_kg == pytest.approx(gas_mass_kg(Gas.CH4, 5.0, "ppm", "dry", 8.0, 300.0, 120.0,
                                                 100.0, 60))
    assert r.n2o_kg == pytest.approx(gas_mass_kg(Gas.N2O, 3.0, "mg/m3", "wet", 8.0, 300.0, 120.0,
                                                 100.0, 60))
    assert r.gross_mwh == pytest.approx(310.0 / 60)
    assert r.heat_input_gj == pytest.approx(800.0 * 60 / 1000)
    accepted([batch])


def test_a_sample_without_a_declared_channel_does_not_count(tmp_path: Path) -> None:
    j = journal(tmp_path, spec())
    j.add_samples([], now=T0 - 1)
    no_ch4 = [Sample(s.meter_id, s.t, s.status, {k: v for k, v in s.values.items() if k != "ch4"})
              for s in minute(T0)]
    j.add_samples(no_ch4, now=T0 + 60)
    j.add_samples(minute(T0 + 60), now=T0 + 120)
    batches = j.seal(now=T0 + 122)
    first, second = [r for b in batches for r in b.readings]
    assert (first.substituted, first.flag, first.valid_samples) == (True, DataFlag.FAULT, 0)
    assert (second.substituted, second.flag) == (False, DataFlag.NORMAL)
    # HB/HA: no interval before, the one after: its values
    assert first.ch4_conc == pytest.approx(4.0)
    assert first.heat_input_gj == pytest.approx(48.0)
    accepted(batches)


def test_a_gas_average_outside_genesis_range_is_over_range(tmp_path: Path) -> None:
    j = journal(tmp_path, spec())
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute(T0, ch4=250.0), now=T0 + 60)
    j.add_samples(minute(T0 + 60), now=T0 + 120)
    batches = j.seal(now=T0 + 122)
    first = batches[0].readings[0]
    assert (first.flag, first.substituted) == (DataFlag.OVER_RANGE, True)
    accepted(batches)


def test_substitution_without_any_qa_data_is_conservative(tmp_path: Path) -> None:
    j = journal(tmp_path, spec())
    j.add_samples([], now=T0 - 1)
    batches = j.seal(now=T0 + 60 + 601)      # nothing ever arrived; hold_s passed
    r = batches[0].readings[0]
    assert r.substituted
    assert r.flag is DataFlag.COMM_FAULT
    assert r.ch4_conc == 200.0
    assert r.n2o_conc == 100.0
    assert r.gross_mwh == 0.0
    assert r.heat_input_gj == pytest.approx(1800 * 60 / 1000)
    accepted(batches)


def test_a_meter_without_channels_still_writes_version_1(tmp_path: Path) -> None:
    j = journal(tmp_path, spec(channels=False))
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute(T0), now=T0 + 60)
    (batch,) = j.seal(now=T0 + 62)
    assert batch.readings[0].wire_version == 1
    assert batch.readings[0].to_wire()[0] == "m1"


def test_a_store_of_the_previous_release_gets_the_columns(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "gw.db")
    db.executescript("CREATE TABLE samples (meter_id TEXT NOT NULL, t REAL NOT NULL, status TEXT "
                     "NOT NULL, co2_pct REAL, o2_pct REAL, h2o_pct REAL, flow_m3_s REAL, temp_c "
                     "REAL, pressure_kpa REAL);")
    db.close()
    j = journal(tmp_path, spec())
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute(T0), now=T0 + 60)
    (batch,) = j.seal(now=T0 + 62)
    assert batch.readings[0].ch4_conc == pytest.approx(4.0)
