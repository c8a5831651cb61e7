"""The durable averager on a real SQLite file: intervals, seqs, substitution, batches, restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.outbox import Outbox
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store
from carbonlab.node.crypto import Signer, verify
from carbonlab.node.emissions import co2_mass_kg
from carbonlab.node.genesis import DEFAULT_RANGES
from carbonlab.node.model import Basis, Batch, DataFlag

T0 = 1_700_000_040
SIGNER = Signer.from_seed(bytes(range(32)))
VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0}


def spec(meter_id: str = "m1", basis: Basis = Basis.WET) -> MeterSpec:
    return MeterSpec(meter_id, 1.0, basis, DEFAULT_RANGES, 14.0, 900.0)


def open_journal(tmp_path: Path, meters: tuple[MeterSpec, ...] = (spec(),), **kw: Any) -> Journal:
    tmp_path.mkdir(parents=True, exist_ok=True)
    params = JournalParams("chain-x", "gw1", interval_s=60, close_delay_s=2.0, hold_s=600.0, **kw)
    return Journal(Store(tmp_path / "gw.db"), params, meters, SIGNER)


def minute(meter: str, start: int, **over: float) -> list[Sample]:
    return [Sample(meter, start + i + 0.5, SampleStatus.OK, {**VALUES, **over}) for i in range(60)]


def readings(batches: list[Batch]) -> list[tuple[str, int, int, bool, str]]:
    # seq is the interval's index since the epoch: shown relative to T0's (1 for the interval T0)
    return [(r.meter_id, r.seq - T0 // 60 + 1, r.interval_start, r.substituted, r.flag.value)
            for b in batches for r in b.readings]


def test_first_interval_is_the_next_whole_one_and_batches_are_signed(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples(minute("m1", T0 - 60)[30:], now=T0 - 30)      # before start: not kept
    assert j.late_samples == 30
    j.add_samples(minute("m1", T0, co2_pct=12.0), now=T0 + 60)
    assert j.seal(now=T0 + 61) == []                            # not closed before close_delay
    batches = j.seal(now=T0 + 62)
    assert readings(batches) == [("m1", 1, T0, False, "N")]
    r = batches[0].readings[0]
    assert r.co2_pct == pytest.approx(12.0)
    assert r.valid_samples == 60
    assert r.co2_kg == pytest.approx(co2_mass_kg(12.0, "wet", 8.0, 300.0, 120.0, 100.0, 60))
    assert verify(SIGNER.public_key, batches[0].signature, batches[0].signing_bytes())
    assert batches[0].batch_seq == T0 + 61     # the clock at the first seal, then +1 per batch
    assert batches[0].chain_id == "chain-x"
    out = Outbox(j.store).oldest()
    assert out is not None
    assert out.batch() == batches[0]


def test_missing_interval_waits_for_the_value_after_and_is_substituted(tmp_path: Path) -> None:
    j = open_journal(tmp_path, (spec(basis=Basis.DRY),))
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0, co2_pct=10.0, flow_m3_s=300.0), now=T0 + 60)
    assert len(j.seal(now=T0 + 62)[0].readings) == 1
    # T0+60 and T0+120 get no sample; the gap stays open until T0+180 arrives
    assert j.seal(now=T0 + 185) == []
    j.add_samples(minute("m1", T0 + 180, co2_pct=12.0, flow_m3_s=340.0), now=T0 + 240)
    batches = j.seal(now=T0 + 242)
    got = readings(batches)
    assert got == [("m1", 2, T0 + 60, True, "B"), ("m1", 3, T0 + 120, True, "B"),
                   ("m1", 4, T0 + 180, False, "N")]
    sub = batches[0].readings[0]
    assert sub.co2_pct == pytest.approx(11.0)
    assert sub.flow_m3_s == pytest.approx(320.0)
    assert sub.valid_samples == 0
    assert sub.co2_kg == pytest.approx(co2_mass_kg(11.0, "dry", 8.0, 320.0, 120.0, 100.0, 60))
    assert batches[0].batch_seq == T0 + 63


def test_hold_time_releases_a_gap_with_the_value_before(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0), now=T0 + 60)
    j.seal(now=T0 + 62)
    batches = j.seal(now=T0 + 120 + 600)          # T0+60 ended 600 s ago: hold expired
    assert readings(batches)[0] == ("m1", 2, T0 + 60, True, "B")
    assert batches[0].readings[0].co2_pct == 10.0


def test_restart_continues_seqs_and_keeps_the_interval_in_progress(tmp_path: Path) -> None:
    j = open_journal(tmp_path, (spec("m1"), spec("m2")))
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0) + minute("m2", T0), now=T0 + 60)
    first = j.seal(now=T0 + 62)
    j.add_samples(minute("m1", T0 + 60)[:30] + minute("m2", T0 + 60)[:30], now=T0 + 90)
    j.store.close()
    # a new process: the 30 samples of the open interval survived, and 20 more arrive
    j2 = open_journal(tmp_path, (spec("m1"), spec("m2")))
    j2.add_samples(minute("m1", T0 + 60)[40:] + minute("m2", T0 + 60)[40:], now=T0 + 120)
    second = j2.seal(now=T0 + 122)
    assert readings(first) == [("m1", 1, T0, False, "N"), ("m2", 1, T0, False, "N")]
    assert readings(second) == [("m1", 2, T0 + 60, False, "N"), ("m2", 2, T0 + 60, False, "N")]
    assert second[0].readings[0].valid_samples == 50
    assert second[0].batch_seq == T0 + 63


def test_a_long_gateway_outage_closes_every_missed_interval_once(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0), now=T0 + 60)
    j.seal(now=T0 + 62)
    j.add_samples(minute("m1", T0 + 600), now=T0 + 660)   # the gateway was down 9 minutes
    got = readings(j.seal(now=T0 + 662))
    assert [g[2] for g in got] == [T0 + 60 * k for k in range(1, 11)]
    assert [g[1] for g in got] == list(range(2, 12))
    assert [g[3] for g in got] == [True] * 9 + [False]
    assert j.seal(now=T0 + 663) == []


def test_batches_are_split_at_the_reading_limit(tmp_path: Path) -> None:
    meters = tuple(spec(f"m{i}") for i in range(5))
    j = open_journal(tmp_path, meters, batch_max_readings=2)
    j.add_samples([], now=T0 - 1)
    j.add_samples([s for m in meters for s in minute(m.meter_id, T0)], now=T0 + 60)
    batches = j.seal(now=T0 + 62)
    assert [len(b.readings) for b in batches] == [2, 2, 1]
    assert [b.batch_seq for b in batches] == [T0 + 62, T0 + 63, T0 + 64]
    assert Outbox(j.store).depth() == 3


def test_calibration_interval_is_flagged_and_substituted(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples([], now=T0 - 1)
    cal = [Sample("m1", T0 + 60 + i, SampleStatus.CALIBRATING, dict(VALUES)) for i in range(60)]
    j.add_samples(minute("m1", T0) + cal + minute("m1", T0 + 120), now=T0 + 180)
    got = readings(j.seal(now=T0 + 182))
    assert got[1] == ("m1", 2, T0 + 60, True, DataFlag.CALIBRATION.value)


class _DiesAfterSigning(Journal):
    """Fault injection: the process 'dies' after the batch is signed and inserted, before COMMIT."""

    def _batch(self, db: Any, readings: list[Any], now: float) -> list[Batch]:
        super()._batch(db, readings, now)
        raise KeyboardInterrupt("killed between signing and commit")


def test_death_between_signing_and_commit_leaves_no_trace_and_same_batch_after(tmp_path: Path) -> None:
    store = Store(tmp_path / "gw.db")
    params = JournalParams("chain-x", "gw1", interval_s=60, close_delay_s=2.0, hold_s=600.0)
    dying = _DiesAfterSigning(store, params, (spec(),), SIGNER)
    dying.add_samples([], now=T0 - 1)
    dying.add_samples(minute("m1", T0), now=T0 + 60)
    with pytest.raises(KeyboardInterrupt):
        dying.seal(now=T0 + 62)
    # nothing of the interrupted step is on disk: no batch, no seq, the samples are still there
    assert Outbox(store).depth() == 0
    assert store.db.execute("SELECT COUNT(*) FROM intervals").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 60
    store.close()
    j = open_journal(tmp_path)
    (batch,) = j.seal(now=T0 + 62)
    assert readings([batch]) == [("m1", 1, T0, False, "N")]
    assert batch.batch_seq == T0 + 62


def test_history_kg_feeds_the_forecast(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0) + minute("m1", T0 + 60), now=T0 + 120)
    j.seal(now=T0 + 122)
    points, closed_until = j.history_kg("m1")
    kg = co2_mass_kg(10.0, "wet", 8.0, 300.0, 120.0, 100.0, 60)
    assert points == [(T0, pytest.approx(kg)), (T0 + 60, pytest.approx(kg))]
    assert closed_until == T0 + 120


SCF_PER_M3 = 35.3147
KG_PER_SHORT_TON = 907.18474


@pytest.mark.parametrize(("basis", "co2_pct", "h2o_pct"), [(Basis.WET, 10.0, 0.0),
                                                           (Basis.DRY, 10.0 / 0.9, 10.0)])
def test_an_hour_of_readings_matches_the_f11_worked_number(tmp_path: Path, basis: Basis, co2_pct: float,
                                                          h2o_pct: float) -> None:
    # 40 CFR 75 App. F, F-11: 10 % CO2 (wet) at 1,000,000 scfh for one hour emits
    # 5.7e-7 * 10 * 1e6 = 5.7 short tons. The dry-basis case reads 11.11 % dry at 10 % moisture,
    # which F-2 turns into the same 10 % wet. Flow at standard conditions (20 degC, 101.325 kPa).
    flow_m3_s = 1_000_000 / SCF_PER_M3 / 3600
    j = open_journal(tmp_path, (spec(basis=basis),))
    j.add_samples([], now=T0 - 1)
    hour = []
    for k in range(60):
        hour += minute("m1", T0 + 60 * k, co2_pct=co2_pct, h2o_pct=h2o_pct, flow_m3_s=flow_m3_s,
                       temp_c=20.0, pressure_kpa=101.325)
    j.add_samples(hour, now=T0 + 3600)
    batches = j.seal(now=T0 + 3602)
    total_kg = sum(r.co2_kg for b in batches for r in b.readings)
    assert len([r for b in batches for r in b.readings]) == 60
    assert total_kg / KG_PER_SHORT_TON == pytest.approx(5.7, rel=0.005)


def test_a_rebuilt_gateway_numbers_above_the_lost_one(tmp_path: Path) -> None:
    old = open_journal(tmp_path / "old")
    old.add_samples([], now=T0 - 1)
    old.add_samples(minute("m1", T0), now=T0 + 60)
    (lost,) = old.seal(now=T0 + 62)
    # the data_dir is gone; an hour later the gateway is rebuilt with the same key
    new = open_journal(tmp_path / "new")
    later = T0 + 3600
    new.add_samples([], now=later - 1)
    new.add_samples(minute("m1", later), now=later + 60)
    (batch,) = new.seal(now=later + 62)
    assert batch.batch_seq > lost.batch_seq
    assert batch.readings[0].seq > lost.readings[0].seq
    assert batch.readings[0].seq == later // 60


def test_a_changed_interval_length_is_bridged_to_an_aligned_boundary(tmp_path: Path) -> None:
    j = open_journal(tmp_path)
    j.add_samples([], now=T0 - 1)
    j.add_samples(minute("m1", T0), now=T0 + 60)
    j.seal(now=T0 + 62)                       # closed up to T0 + 60, which is not a multiple of 120
    j.store.close()
    j2 = Journal(Store(tmp_path / "gw.db"), JournalParams("chain-x", "gw1", interval_s=120,
                                                          close_delay_s=2.0, hold_s=600.0),
                 (spec(),), SIGNER)
    j2.add_samples(minute("m1", T0 + 60) + minute("m1", T0 + 120) + minute("m1", T0 + 180),
                   now=T0 + 240)
    got = [(r.interval_start, r.interval_s, r.flag.value, r.substituted)
           for b in j2.seal(now=T0 + 242) for r in b.readings]
    assert T0 % 120 == 0
    assert got == [(T0 + 60, 60, "N", False), (T0 + 120, 120, "N", False)]
