"""The memory of checked batches (`node/checkedbatches.py`) changes no verdict: a request
remembered by one evaluation is given the same verdict and the same state by a later one as by
a contract without the memory (replays, overlaps, anomalies, rejections included); only an
accepted batch is remembered; the memory is bound to one genesis and bounded by readings; a
real ledger committing blocks its API pre-checked writes the same rows as one that met them
first in the block."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonlab.node.block import CommitCertificate, Proposal, commit_vote_bytes
from carbonlab.node.checkedbatches import CheckedBatches
from carbonlab.node.contract import ContractState, Reason, evaluate, evaluate_and_apply
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.model import Batch, DataFlag
from carbonlab.node.sim.kit import Kit
from tests.unit.node.factories import make_kit

KIT = make_kit()
STEPS = ["gw1", "gw2", "spike", "calibration", "bad", "replay", "overlap", "unknown"]


def _requests(plan: list[str]) -> list[bytes]:
    kit = make_kit()
    requests: list[bytes] = []
    for step in plan:
        batch = kit.next_batch("gw2" if step == "gw2" else "gw1", per_meter=2)
        readings = list(batch.readings)
        if step == "spike":
            readings[-1] = replace(readings[-1], co2_pct=readings[-1].co2_pct * 3,
                                   co2_kg=readings[-1].co2_kg * 3)
        elif step == "calibration":
            readings[0] = replace(readings[0], flag=DataFlag.CALIBRATION)
        elif step == "bad":
            readings[-1] = replace(readings[-1], co2_kg=readings[-1].co2_kg + 5)
        elif step == "overlap":                               # a new seq over an old interval
            readings[0] = replace(readings[0], interval_start=readings[0].interval_start - 3600)
        elif step == "unknown":
            readings[0] = replace(readings[0], meter_id="nope")
        if step == "replay" and requests:
            requests.append(requests[0])
        else:
            requests.append(kit.batch(batch.gateway_id, batch.batch_seq, readings).encode())
    return requests


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(STEPS), min_size=1, max_size=10), st.integers(0, 2))
def test_a_remembered_batch_gets_the_verdict_and_state_it_would_without_the_memory(
        plan: list[str], prechecks: int) -> None:
    requests = _requests(plan)
    checked = CheckedBatches()
    for request in requests[:prechecks * 3]:                  # some pre-checked by "the API"
        evaluate(KIT.genesis, ContractState(), request, None, checked)
    plain, remembered = ContractState(), ContractState()
    for request in requests:
        without, _ = evaluate_and_apply(KIT.genesis, plain, request)
        with_memory, _ = evaluate_and_apply(KIT.genesis, remembered, request, None, checked)
        assert with_memory == without
        assert remembered == plain


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(STEPS), min_size=1, max_size=8))
def test_a_batch_the_api_decoded_gets_the_verdict_of_its_bytes(plan: list[str]) -> None:
    """The API's binary route hands the contract the Batch it decoded from the body: the
    pre-check's verdict, and what it remembers, are those of decoding the bytes there."""
    requests = _requests(plan)
    given_it, decoding = CheckedBatches(), CheckedBatches()
    for request in requests:
        verdict, batch = evaluate(KIT.genesis, ContractState(), request, None, given_it,
                                  Batch.decode(request))
        assert (verdict, batch) == evaluate(KIT.genesis, ContractState(), request, None, decoding)
    assert list(given_it._held) == list(decoding._held)


def test_a_batch_given_decoded_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    kit = make_kit()
    batch = Batch.decode(kit.next_batch("gw1", per_meter=2).encode())

    def decode_again(buf: bytes) -> Batch:
        raise AssertionError("decoded a second time")

    monkeypatch.setattr(Batch, "decode", staticmethod(decode_again))
    verdict, checked_batch = evaluate(kit.genesis, ContractState(), batch.encode(), None, CheckedBatches(),
                                      batch)
    assert verdict.accepted
    assert checked_batch is batch
    with pytest.raises(AssertionError, match="second time"):       # without it, the bytes are decoded
        evaluate(kit.genesis, ContractState(), batch.encode(), None, CheckedBatches())


def test_only_an_accepted_batch_is_remembered_and_a_hit_skips_only_the_stateless_checks() -> None:
    kit = make_kit()
    checked = CheckedBatches()
    good = kit.next_batch("gw1", per_meter=2)
    bad_reading = kit.next_batch("gw1", per_meter=2)
    bad = kit.batch("gw1", bad_reading.batch_seq, [replace(bad_reading.readings[0], co2_kg=1e6),
                                                    *bad_reading.readings[1:]])
    forged = replace(good, signature=bytes(64), _encoded=[])
    for batch in (good, bad, forged):
        evaluate(kit.genesis, ContractState(), batch.encode(), None, checked)
    assert len(checked) == 1
    assert checked.get(checked.key(kit.genesis.hash, good.encode())) == good
    state = ContractState()
    first, _ = evaluate_and_apply(kit.genesis, state, good.encode(), None, checked)
    assert first.accepted
    assert len(checked) == 0                                   # executed once: taken out
    again, _ = evaluate_and_apply(kit.genesis, state, good.encode(), None, checked)   # replayed:
    assert again.reason is Reason.REPLAY_BATCH                 # checked in full
    assert checked.hits == 2                                   # the get above and the first execution


def test_the_memory_is_bound_to_its_genesis() -> None:
    other = make_kit(chain_id="another-chain")
    checked = CheckedBatches()
    batch = KIT.next_batch("gw1")
    assert evaluate(KIT.genesis, ContractState(), batch.encode(), None, checked)[0].accepted
    verdict, _ = evaluate(other.genesis, ContractState(), batch.encode(), None, checked)
    assert verdict.reason is Reason.WRONG_CHAIN                # not taken from the first chain's memory


@pytest.mark.parametrize("capacity", [1, 12, 25])
def test_the_memory_is_bounded_by_readings(capacity: int) -> None:
    checked = CheckedBatches(capacity_readings=capacity)
    batches = [KIT.next_batch("gw1", per_meter=4) for _ in range(5)]   # 12 readings each (3 meters)
    for batch in batches:
        checked.remember(checked.key(KIT.genesis.hash, batch.encode()), batch)
    held = [b for b in batches if checked.get(checked.key(KIT.genesis.hash, b.encode())) is not None]
    assert sum(len(b.readings) for b in held) <= capacity
    assert held == batches[len(batches) - len(held):]         # the newest are kept


def _blocks(kit_n: int = 6) -> tuple[Kit, list[tuple[Proposal, CommitCertificate]]]:
    kit = make_kit()
    blocks = []
    for h in range(1, kit_n + 1):
        requests = _requests(["gw1", "gw2", "spike", "bad"] if h % 2 else ["replay", "calibration"])
        proposal = Proposal(kit.genesis.chain_id, h, h, "n1", tuple(requests))
        vote = commit_vote_bytes(kit.genesis.chain_id, 0, h, proposal.digest)
        blocks.append((proposal, CommitCertificate(0, h, proposal.digest, tuple(
            (m, kit.members[m].sign(vote)) for m in kit.genesis.member_ids[:kit.genesis.quorum]))))
    return kit, blocks


def _rows(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        return [db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("blocks", "batches", "readings", "gateway_state", "meter_state",
                              "reading_days")]


def test_a_ledger_fed_by_its_pre_check_writes_what_a_ledger_meeting_the_blocks_does(
        tmp_path: Path) -> None:
    kit, blocks = _blocks()
    genesis = kit.genesis
    with Ledger.open(tmp_path / "warm.sqlite", genesis) as warm:
        for proposal, _ in blocks:                             # the API's pre-check of each batch
            for request in proposal.requests:
                evaluate(genesis, ContractState(), request, warm.signatures, warm.checked)
        for proposal, cert in blocks:
            warm.commit(proposal, cert)
        assert warm.checked.hits > 0
        assert len(warm.checked) == 0                          # each taken by the block executing it
    with Ledger.open(tmp_path / "cold.sqlite", genesis) as cold:
        for proposal, cert in blocks:
            cold.commit(proposal, cert)
        assert cold.checked.hits == 0
    assert _rows(tmp_path / "warm.sqlite") == _rows(tmp_path / "cold.sqlite")
    assert verify_ledger(tmp_path / "warm.sqlite", genesis).ok
