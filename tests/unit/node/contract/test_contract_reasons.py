"""Contract rejections: one table row per reason code, each naming the field and value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import msgpack
import pytest

from carbonlab.node import codec
from carbonlab.node.contract import ContractState, Reason, Verdict, evaluate, execute
from carbonlab.node.model import Batch, DataFlag
from tests.unit.node.factories import T0, Kit, make_kit, make_reading, signer_for, with_channels

CHANNELS = {"gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0, 500]}},
            "load": {"gross_mw": [0, 700], "heat_input_mw": [0, 1800]}}
KIT = make_kit(meters={"m2": {"co2_basis": "dry", "ranges": {"co2_pct": [0, 20]}},
                       "m3": CHANNELS})   # m3 (gw2) has CH4, gross load and heat input


def on_m3(**kw: object) -> bytes:
    """A gw2 batch of one m3 reading with its channels, fields replaced by `kw`."""
    r = with_channels(make_reading("m3", 1, T0), ch4=(10.0, "ppm", "dry"), gross_mw=300.0,
                      heat_mw=750.0)
    return KIT.batch("gw2", 1, [replace(r, **kw)]).encode()  # type: ignore[arg-type]


def settled_state(kit: Kit) -> ContractState:
    """gw1 has batch 5 accepted, holding m1 seq 10 (interval T0) and m2 seq 3."""
    state = ContractState()
    first = kit.batch("gw1", 5, [make_reading("m1", 10, T0), make_reading("m2", 3, T0, basis="dry")])
    verdicts = execute(kit.genesis, state, kit.proposal(1, [first.encode()]))
    assert verdicts[0].accepted, verdicts[0]
    return state


def good(seq: int = 11, start: int = T0 + 60, **kw: object) -> list:
    return [make_reading("m1", seq, start, **kw)]  # type: ignore[arg-type]


def signed(readings: list, gw: str = "gw1", batch_seq: int = 6, **kw: object) -> bytes:
    return KIT.batch(gw, batch_seq, readings, **kw).encode()  # type: ignore[arg-type]


def wrong_type_co2() -> bytes:
    batch = KIT.batch("gw1", 6, good())
    wire = batch.to_wire()
    wire[3][0][4] = "high"
    return codec.encode(wire)


CASES: list[tuple[str, Callable[[], bytes], Reason, str]] = [
    ("garbage bytes", lambda: b"\xc1\x00garbage", Reason.MALFORMED, "batch: not valid msgpack"),
    ("non-canonical", lambda: msgpack.packb([1.5], use_single_float=True), Reason.MALFORMED,
     "canonical"),
    ("wrong field type", wrong_type_co2, Reason.MALFORMED,
     "batch.readings[0].co2_pct: expected a number, got str"),
    ("empty batch", lambda: signed([]), Reason.MALFORMED, "batch.readings: a batch must hold"),
    ("misaligned interval", lambda: signed(good(start=T0 + 61)), Reason.MALFORMED,
     f"batch.readings[0].interval_start: {T0 + 61} is not aligned to interval_s 60"),
    ("wrong chain", lambda: signed(good(), chain_id="other-chain"), Reason.WRONG_CHAIN,
     "batch.chain_id: 'other-chain' is not this chain ('carbonlab-test')"),
    ("unknown gateway", lambda: signed(good(), gw="gw9", signer=signer_for("gw9")),
     Reason.UNKNOWN_GATEWAY, "batch.gateway_id: 'gw9' is not a gateway in genesis"),
    ("unknown meter", lambda: signed([make_reading("m9", 1, T0)]), Reason.UNKNOWN_METER,
     "batch.readings[0].meter_id: 'm9' is not a meter in genesis"),
    ("meter of another gateway", lambda: signed([make_reading("m3", 1, T0)]),
     Reason.METER_NOT_ASSIGNED, "meter 'm3' is not assigned to gateway 'gw1'"),
    ("signed by another key", lambda: signed(good(), signer=signer_for("gw2")),
     Reason.BAD_SIGNATURE, "batch.signature: does not verify under the genesis key of gateway 'gw1'"),
    ("altered after signing", lambda: replace(
        KIT.batch("gw1", 6, good()), readings=tuple(good(co2_pct=11.6))).encode(),
     Reason.BAD_SIGNATURE, "batch.signature"),
    ("replayed batch_seq", lambda: signed(good(), batch_seq=5), Reason.REPLAY_BATCH,
     "batch.batch_seq: 5 is not above gateway 'gw1''s last accepted batch_seq 5"),
    ("older batch_seq", lambda: signed(good(), batch_seq=2), Reason.REPLAY_BATCH, "batch_seq 5"),
    ("replayed reading seq", lambda: signed(good(seq=10)), Reason.REPLAY_READING,
     "batch.readings[0].seq: 10 is not above meter 'm1''s last accepted seq 10"),
    ("duplicate seq in batch", lambda: signed(good() + good(start=T0 + 120)), Reason.REPLAY_READING,
     "batch.readings[1].seq: 11 is not above meter 'm1''s earlier in this batch seq 11"),
    ("overlapping interval", lambda: signed(good(start=T0)), Reason.REPLAY_READING,
     f"batch.readings[0].interval_start: {T0} overlaps meter 'm1''s previous accepted interval"),
    ("co2 above range", lambda: signed(good(co2_pct=30.0)), Reason.OUT_OF_RANGE,
     "batch.readings[0].co2_pct: 30.0 is outside meter 'm1''s range [0.0, 25.0]"),
    ("meter's own range", lambda: signed([make_reading("m2", 4, T0 + 60, basis="dry", co2_pct=21.0)]),
     Reason.OUT_OF_RANGE, "batch.readings[0].co2_pct: 21.0 is outside meter 'm2''s range [0.0, 20.0]"),
    ("negative flow", lambda: signed(good(flow_m3_s=-1.0)), Reason.OUT_OF_RANGE,
     "batch.readings[0].flow_m3_s: -1.0 is outside"),
    ("pressure below range", lambda: signed(good(pressure_kpa=10.0)), Reason.OUT_OF_RANGE,
     "batch.readings[0].pressure_kpa: 10.0 is outside meter 'm1''s range [60.0, 140.0]"),
    ("co2 mass off", lambda: signed(good(co2_kg=1.0)), Reason.CO2_MISMATCH,
     "batch.readings[0].co2_kg: 1.0 does not match the recomputed"),
    ("co2 mass off by 2 g", lambda: signed(good(co2_kg=make_reading().co2_kg + 0.002)),
     Reason.CO2_MISMATCH, "batch.readings[0].co2_kg"),
    ("basis differs from genesis", lambda: signed([make_reading("m2", 4, T0 + 60, basis="wet")]),
     Reason.CO2_MISMATCH, "batch.readings[0].co2_basis: 'wet' but meter 'm2' reports on a 'dry' basis"),
    ("channel genesis does not declare", lambda: signed([with_channels(
        make_reading("m1", 11, T0 + 60), ch4=(10.0, "ppm", "dry"))]), Reason.CHANNEL_MISMATCH,
     "batch.readings[0].ch4_kg: meter 'm1' has no ch4 channel in genesis"),
    ("ch4 mass off", lambda: on_m3(ch4_kg=1.0), Reason.GAS_MISMATCH,
     "batch.readings[0].ch4_kg: 1.0 does not match the recomputed"),
    ("more output than 0.65 of heat", lambda: on_m3(gross_mwh=10.0, heat_input_gj=50.0),
     Reason.LOAD_MISMATCH, "batch.readings[0].gross_mwh: 10.0 MWh is more than 0.65 of the heat"),
    ("bad reading after good ones", lambda: signed(good() + good(seq=12, start=T0 + 120, o2_pct=22.0)),
     Reason.OUT_OF_RANGE, "batch.readings[1].o2_pct: 22.0"),
]


@pytest.mark.parametrize(("name", "build", "reason", "detail"), CASES, ids=[c[0] for c in CASES])
def test_rejects_with_reason(name: str, build: Callable[[], bytes], reason: Reason, detail: str) -> None:
    state = settled_state(KIT)
    before = state.copy()
    verdict, _ = evaluate(KIT.genesis, state, build())
    assert not verdict.accepted
    assert verdict.reason is reason, verdict.detail
    assert detail in verdict.detail
    assert state == before  # evaluate never mutates


def test_every_reason_has_a_case() -> None:
    assert {c[2] for c in CASES} == set(Reason)


def test_rejection_keeps_gateway_and_seq_unless_undecodable() -> None:
    state = settled_state(KIT)
    verdict, batch = evaluate(KIT.genesis, state, signed(good(co2_kg=1.0)))
    assert (verdict.gateway_id, verdict.batch_seq) == ("gw1", 6)
    assert batch is not None
    verdict, batch = evaluate(KIT.genesis, state, b"\x01")
    assert (verdict.gateway_id, verdict.batch_seq, batch) == (None, None, None)


def test_valid_batch_is_accepted_and_advances_state() -> None:
    state = settled_state(KIT)
    request = signed(good() + good(seq=14, start=T0 + 300))
    verdict, _ = evaluate(KIT.genesis, state, request)
    assert verdict.accepted
    assert verdict.reason is None
    assert verdict.anomalies == ()
    execute(KIT.genesis, state, KIT.proposal(2, [request]))
    assert state.last_batch_seq["gw1"] == 6
    assert state.last_reading_seq["m1"] == 14  # gaps are allowed
    assert state.interval_end["m1"] == T0 + 360


def test_rejected_batch_does_not_advance_state_and_gateway_can_retry() -> None:
    state = settled_state(KIT)
    before = state.copy()
    bad, fixed = signed(good(co2_kg=1.0)), signed(good())
    verdicts = execute(KIT.genesis, state, KIT.proposal(2, [bad, fixed]))
    assert [v.accepted for v in verdicts] == [False, True]
    assert before.last_batch_seq["gw1"] == 5
    assert state.last_batch_seq["gw1"] == 6


def test_same_request_twice_in_one_proposal_commits_once() -> None:
    state = settled_state(KIT)
    request = signed(good())
    verdicts = execute(KIT.genesis, state, KIT.proposal(2, [request, request]))
    assert [v.accepted for v in verdicts] == [True, False]
    assert verdicts[1].reason is Reason.REPLAY_BATCH


def test_dry_basis_mass_is_recomputed_with_moisture() -> None:
    state = settled_state(KIT)
    reading = make_reading("m2", 4, T0 + 60, basis="dry", h2o_pct=12.0)
    assert evaluate(KIT.genesis, state, signed([reading]))[0].accepted
    wet_mass = make_reading("m2", 4, T0 + 60, basis="wet", h2o_pct=12.0).co2_kg
    bad = replace(reading, co2_kg=wet_mass)
    assert evaluate(KIT.genesis, state, signed([bad]))[0].reason is Reason.CO2_MISMATCH


def test_flags_other_than_normal_are_accepted_when_plausible() -> None:
    state = settled_state(KIT)
    for i, flag in enumerate(DataFlag):
        request = signed(good(flag=flag), batch_seq=6 + i)
        verdict, _ = evaluate(KIT.genesis, state, request)
        assert verdict.accepted, (flag, verdict.detail)


def test_wire_batch_from_json_round_trip_is_accepted() -> None:
    state = settled_state(KIT)
    batch = KIT.batch("gw1", 6, good())
    assert evaluate(KIT.genesis, state, Batch.from_json(batch.to_json()).encode())[0].accepted


@pytest.mark.parametrize(("name", "build", "reason", "detail"), CASES, ids=[c[0] for c in CASES])
def test_rejection_carries_its_field_as_data(name: str, build: Callable[[], bytes], reason: Reason,
                                             detail: str) -> None:
    verdict, _ = evaluate(KIT.genesis, settled_state(KIT), build())
    assert verdict.field is not None
    assert verdict.detail.startswith(f"{verdict.field}: ")   # the detail says it too, for people
    assert Verdict.from_json(verdict.to_json()) == verdict


def test_rejection_field_is_the_path_of_the_offending_value() -> None:
    state = settled_state(KIT)
    cases = [(b"\xc1\x00garbage", "batch"), (wrong_type_co2(), "batch.readings[0].co2_pct"),
             (signed(good() + good(seq=12, start=T0 + 120, o2_pct=22.0)), "batch.readings[1].o2_pct"),
             (signed(good(), batch_seq=5), "batch.batch_seq")]
    assert [evaluate(KIT.genesis, state, request)[0].field for request, _ in cases] == \
        [field for _, field in cases]
    accepted, _ = evaluate(KIT.genesis, state, signed(good()))
    assert accepted.accepted
    assert accepted.field is None
