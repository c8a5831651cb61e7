"""The contract's fast path (issue 17) changes no verdict: `reading_passes` says yes exactly when
the exact checks (`_check_reading`) find nothing; `evaluate_and_apply` gives `evaluate` then
`apply`'s verdicts and state; a remembered signature is one that verified, never a forgery."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonlab.node.contract import (
    ContractState,
    Reason,
    _check_reading,
    _Reject,
    apply,
    evaluate,
    evaluate_and_apply,
)
from carbonlab.node.contract_table import reading_passes, table_of
from carbonlab.node.model import Basis, DataFlag
from carbonlab.node.sigcache import VerifiedSignatures
from tests.unit.node.factories import make_kit

KIT = make_kit()
FLOATS = st.floats(min_value=-400.0, max_value=3000.0, allow_nan=False)
FIELDS = ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa", "co2_kg")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["m1", "m2", "m3", "nope"]), st.sampled_from(FIELDS), FLOATS,
       st.sampled_from([60, 61, 300]), st.sampled_from(list(Basis)), st.sampled_from(list(DataFlag)),
       st.booleans())
def test_fast_check_passes_exactly_when_the_exact_checks_do(
        meter: str, name: str, value: float, interval_s: int, basis: Basis, flag: DataFlag,
        substituted: bool) -> None:
    base = KIT.next_readings("m1", 1)[0]
    reading = replace(base, meter_id=meter, interval_s=interval_s, co2_basis=basis, flag=flag,
                      substituted=substituted, **{name: value})
    table = table_of(KIT.genesis)
    gateway = KIT.genesis.gateway_by_id["gw1"]
    try:
        _check_reading(KIT.genesis, gateway.meters, "gw1", reading, "reading")
        exact = True
    except _Reject:
        exact = False
    assert reading_passes(table.meters.get(meter), table.assigned["gw1"], reading) is exact


def _plan_requests(plan: list[str]) -> list[bytes]:
    kit = make_kit()
    requests: list[bytes] = []
    for step in plan:
        batch = kit.next_batch("gw1" if step != "gw2" else "gw2", per_meter=2)
        readings = list(batch.readings)
        if step == "spike":
            readings[-1] = replace(readings[-1], co2_pct=readings[-1].co2_pct * 3)
            readings[-1] = replace(readings[-1], co2_kg=readings[-1].co2_kg * 3)
        elif step == "calibration":
            readings[0] = replace(readings[0], flag=DataFlag.CALIBRATION)
        elif step == "bad":
            readings[0] = replace(readings[0], co2_kg=readings[0].co2_kg + 5)
        if step != "replay" or not requests:
            requests.append(kit.batch(batch.gateway_id, batch.batch_seq, readings).encode())
        else:
            requests.append(requests[0])
    return requests


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["gw1", "gw2", "spike", "calibration", "bad", "replay"]),
                min_size=1, max_size=10))
def test_evaluate_and_apply_is_evaluate_then_apply(plan: list[str]) -> None:
    a, b = ContractState(), ContractState()
    for request in _plan_requests(plan):
        verdict_a, batch_a = evaluate(KIT.genesis, a, request)
        if batch_a is not None:
            apply(a, batch_a, verdict_a)
        verdict_b, _ = evaluate_and_apply(KIT.genesis, b, request)
        assert verdict_a == verdict_b
        assert a == b


def test_a_signature_is_verified_once_and_a_forgery_never_remembered() -> None:
    signatures = VerifiedSignatures()
    good = KIT.next_batch("gw1")
    for _ in range(2):
        assert evaluate(KIT.genesis, ContractState(), good.encode(), signatures)[0].accepted
    assert (signatures.verified, signatures.hits) == (1, 1)
    forged = replace(good, signature=bytes(64), _encoded=[])   # _leaves is not copied (init=False)
    for _ in range(2):
        verdict, _ = evaluate(KIT.genesis, ContractState(), forged.encode(), signatures)
        assert verdict.reason is Reason.BAD_SIGNATURE
    assert (signatures.verified, signatures.hits) == (3, 1)


@pytest.mark.parametrize("capacity", [1, 2])
def test_the_memory_of_signatures_is_bounded(capacity: int) -> None:
    signatures = VerifiedSignatures(capacity)
    batches = [KIT.next_batch("gw1") for _ in range(3)]
    for batch in batches:
        assert signatures.verify(KIT.gateways["gw1"].public_key, batch.signature, batch.signing_bytes())
    assert len(signatures._ok) == capacity


def test_a_decoded_batch_replaced_with_other_readings_signs_its_own_readings() -> None:
    from carbonlab.node.model import Batch

    decoded = Batch.decode(KIT.next_batch("gw1").encode())
    other = replace(decoded, readings=tuple(KIT.next_readings("m1", 2)), _encoded=[])
    assert other.signing_bytes() == Batch(other.chain_id, other.gateway_id, other.batch_seq,
                                          other.readings).signing_bytes()
    assert other.signing_bytes() != decoded.signing_bytes()
