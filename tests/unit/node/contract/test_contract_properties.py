"""Properties of the contract: it never raises, it is deterministic, forged bytes never pass."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from carbonlab.node.contract import ContractState, evaluate, execute
from tests.unit.node.factories import make_kit

KIT = make_kit()
VALID = KIT.batch("gw1", 1, KIT.next_readings("m1", 3) + KIT.next_readings("m2", 2)).encode()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    verdict, _ = evaluate(KIT.genesis, ContractState(), data)
    assert not verdict.accepted
    assert verdict.reason is not None
    assert verdict.detail


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.integers(min_value=1, max_value=255))
def test_no_single_byte_change_of_a_signed_batch_is_accepted(index: int, xor: int) -> None:
    forged = bytearray(VALID)
    forged[index] ^= xor
    verdict, _ = evaluate(KIT.genesis, ContractState(), bytes(forged))
    assert not verdict.accepted


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["gw1", "gw2", "junk", "replay"]), min_size=1, max_size=12))
def test_two_nodes_reach_the_same_verdicts_and_state(plan: list[str]) -> None:
    kit = make_kit()
    requests: list[bytes] = []
    for step in plan:
        if step == "junk":
            requests.append(b"\x92\x01")
        elif step == "replay" and requests:
            requests.append(requests[0])
        elif step in ("gw1", "gw2"):
            requests.append(kit.next_batch(step).encode())
    proposal = kit.proposal(1, requests)
    a, b = ContractState(), ContractState()
    assert execute(kit.genesis, a, proposal) == execute(kit.genesis, b, proposal)
    assert a == b


def test_valid_batch_passes() -> None:
    assert evaluate(KIT.genesis, ContractState(), VALID)[0].accepted
