"""The allowance contract's checks (docs/allowances.md), one by one, on real signed records."""

from __future__ import annotations

import dataclasses

import pytest

from carbonlab.node.allowances.contract import (
    ROLE_OF,
    AllowanceState,
    RecordReason,
    evaluate_and_apply,
    stateless_refusal,
    year_closes_ms,
)
from carbonlab.node.allowances.records import (
    Allocation,
    Basis,
    Body,
    Kind,
    Statement,
    Surrender,
    Transfer,
)
from carbonlab.node.genesis import ROLES
from tests.unit.node.allowances.kit import CLOSED_YEAR, HASH, MEMBER_OF_ROLE, YEAR, RecordKit

BODIES: dict[Kind, Body] = {
    Kind.ALLOCATION: Allocation(company="acme", year=YEAR, quantity_t=100),
    Kind.TRANSFER: Transfer(seller="acme", buyer="globex", year=YEAR, quantity_t=10, price_per_t=80.5,
                            currency="CNY"),
    Kind.SURRENDER: Surrender(company="acme", year=YEAR, quantity_t=10),
    Kind.STATEMENT: Statement(company="acme", year=YEAR, emissions_t=1234.5, basis=Basis.CO2,
                              gwp_set=None, manifest_hash=HASH),
}


def funded(kit: RecordKit) -> AllowanceState:
    """acme holds 100 t of YEAR (an allocation that went through the contract)."""
    state = AllowanceState()
    out = evaluate_and_apply(kit.genesis, state, kit.sign(BODIES[Kind.ALLOCATION], "n3").encode(),
                             kit.block_time_ms())
    assert out.accepted, out.detail
    return state


@pytest.mark.parametrize("kind", list(Kind))
def test_the_right_role_is_accepted(kind: Kind) -> None:
    kit = RecordKit.make()
    state = funded(kit)
    record = kit.sign(BODIES[kind], MEMBER_OF_ROLE[ROLE_OF[kind]])
    out = evaluate_and_apply(kit.genesis, state, record.encode(), kit.block_time_ms())
    assert out.accepted, out.detail
    assert out.record_id == record.record_id


@pytest.mark.parametrize(("kind", "role"), [(k, r) for k in Kind for r in ROLES if r != ROLE_OF[k]])
def test_each_wrong_role_is_refused_by_name(kind: Kind, role: str) -> None:
    kit = RecordKit.make()
    state = funded(kit)
    before = state.copy()
    member = MEMBER_OF_ROLE[role]
    out = evaluate_and_apply(kit.genesis, state, kit.sign(BODIES[kind], member).encode(),
                             kit.block_time_ms())
    assert not out.accepted
    assert out.reason is RecordReason.WRONG_ROLE
    assert out.field == "record.signer"
    article = {"allocation": "an", "emission-management": "an"}
    assert (f"{article.get(kind.value, 'a')} {kind.value} is made by {article.get(ROLE_OF[kind], 'a')} "
            f"{ROLE_OF[kind]} member; '{member}' is {role}") in out.detail
    assert state == before


def test_balances_move_exactly() -> None:
    kit = RecordKit.make()
    state = funded(kit)
    for body, member in ((BODIES[Kind.TRANSFER], "n7"), (BODIES[Kind.SURRENDER], "n1")):
        assert evaluate_and_apply(kit.genesis, state, kit.sign(body, member).encode(),
                                  kit.block_time_ms()).accepted
    assert state.held == {("acme", YEAR): 80, ("globex", YEAR): 10}
    assert state.surrendered == {("acme", YEAR): 10}


@pytest.mark.parametrize(("kind", "member"), [(Kind.TRANSFER, "n7"), (Kind.SURRENDER, "n1")])
def test_a_negative_balance_is_refused(kind: Kind, member: str) -> None:
    kit = RecordKit.make()
    state = funded(kit)
    body = dataclasses.replace(BODIES[kind], quantity_t=101)   # type: ignore[type-var]
    out = evaluate_and_apply(kit.genesis, state, kit.sign(body, member).encode(), kit.block_time_ms())
    assert (out.accepted, out.reason, out.field) == (False, RecordReason.INSUFFICIENT_BALANCE,
                                                     "record.body.quantity_t")
    assert "101 t is above acme's 2023 balance of 100 t" in out.detail
    assert state.balance("acme", YEAR) == 100


def test_a_duplicate_seq_is_refused() -> None:
    kit = RecordKit.make()
    state = funded(kit)                       # n3 used seq 1
    again = kit.sign(BODIES[Kind.ALLOCATION], "n3", seq=1)
    out = evaluate_and_apply(kit.genesis, state, again.encode(), kit.block_time_ms())
    assert (out.reason, out.field) == (RecordReason.DUPLICATE, "record.seq")
    assert "1 is not above member 'n3''s last executed seq 1" in out.detail
    assert state.balance("acme", YEAR) == 100


def test_a_second_statement_for_a_company_year_is_a_duplicate() -> None:
    kit = RecordKit.make()
    state = AllowanceState()
    first = evaluate_and_apply(kit.genesis, state, kit.sign(BODIES[Kind.STATEMENT], "n5").encode(),
                               kit.block_time_ms())
    second = evaluate_and_apply(kit.genesis, state, kit.sign(BODIES[Kind.STATEMENT], "n5").encode(),
                                kit.block_time_ms())
    assert first.accepted
    assert (second.reason, second.field) == (RecordReason.DUPLICATE, "record.body.company")


def test_a_closed_year_is_refused() -> None:
    kit = RecordKit.make()
    body = Allocation(company="acme", year=CLOSED_YEAR, quantity_t=5)
    out = evaluate_and_apply(kit.genesis, AllowanceState(), kit.sign(body, "n3").encode(),
                             kit.block_time_ms())
    assert (out.reason, out.field) == (RecordReason.CLOSED_YEAR, "record.body.year")
    assert "compliance year 2021 closed" in out.detail


def test_a_year_closes_at_the_start_of_year_plus_two() -> None:
    kit = RecordKit.make()
    body = Allocation(company="acme", year=YEAR, quantity_t=5)
    closes = year_closes_ms(YEAR)
    assert closes == 1_735_689_600_000     # 2025-01-01T00:00:00Z
    before = evaluate_and_apply(kit.genesis, AllowanceState(), kit.sign(body, "n3").encode(), closes - 1)
    at = evaluate_and_apply(kit.genesis, AllowanceState(), kit.sign(body, "n3").encode(), closes)
    assert before.accepted
    assert at.reason is RecordReason.CLOSED_YEAR


@pytest.mark.parametrize(("body", "member", "field"), [
    (Allocation(company="initech", year=YEAR, quantity_t=5), "n3", "record.body.company"),
    (Transfer(seller="acme", buyer="initech", year=YEAR, quantity_t=1, price_per_t=1.0, currency="EUR"),
     "n7", "record.body.buyer"),
])
def test_an_unknown_company_is_refused(body: Body, member: str, field: str) -> None:
    kit = RecordKit.make()
    out = evaluate_and_apply(kit.genesis, funded(kit), kit.sign(body, member).encode(), kit.block_time_ms())
    assert (out.reason, out.field) == (RecordReason.UNKNOWN_COMPANY, field)
    assert "'initech' is not a company in genesis; companies: acme, globex" in out.detail


def test_a_surrender_by_another_companys_member_is_refused() -> None:
    kit = RecordKit.make()
    out = evaluate_and_apply(kit.genesis, funded(kit), kit.sign(BODIES[Kind.SURRENDER], "n2").encode(),
                             kit.block_time_ms())
    assert (out.reason, out.field) == (RecordReason.NOT_COMPANY_MEMBER, "record.signer")
    assert "'acme' is represented by member 'n1', not 'n2'" in out.detail


def test_a_bad_signature_is_refused() -> None:
    kit = RecordKit.make()
    record = kit.sign(BODIES[Kind.ALLOCATION], "n3")
    forged = dataclasses.replace(record, signature=kit.kit.members["n4"].sign(record.signing_bytes()))
    out = evaluate_and_apply(kit.genesis, AllowanceState(), forged.encode(), kit.block_time_ms())
    assert (out.reason, out.field) == (RecordReason.BAD_SIGNATURE, "record.signature")
    assert "genesis key of member 'n3'" in out.detail


def test_an_unknown_signer_and_another_chain_are_refused() -> None:
    kit = RecordKit.make()
    record = kit.sign(BODIES[Kind.ALLOCATION], "n3")
    stranger = dataclasses.replace(record, signer="n9")
    other = dataclasses.replace(record, chain_id="another-chain")
    for bad, reason, field in ((stranger, RecordReason.UNKNOWN_SIGNER, "record.signer"),
                               (other, RecordReason.WRONG_CHAIN, "record.chain_id")):
        out = evaluate_and_apply(kit.genesis, AllowanceState(), bad.encode(), kit.block_time_ms())
        assert (out.reason, out.field) == (reason, field)


def test_undecodable_bytes_are_malformed_and_change_nothing() -> None:
    kit = RecordKit.make()
    state = funded(kit)
    before = state.copy()
    good = kit.sign(BODIES[Kind.ALLOCATION], "n3").encode()
    out = evaluate_and_apply(kit.genesis, state, good[:-3], kit.block_time_ms())
    assert out.reason is RecordReason.MALFORMED
    assert out.record is None
    assert state == before


def test_what_genesis_alone_refuses_is_refused_before_ordering_with_the_contract_s_reason() -> None:
    """The API's precheck (probe14): a wrong role, a company genesis does not name and a surrender
    by another company's member can never be accepted, so they are refused before ordering, with
    the reason and field the contract gives them in a block; a record only the ledger can refuse
    (a balance, a duplicate) passes the precheck."""
    kit = RecordKit.make()
    cases: list[tuple[Body, str, RecordReason, str]] = [
        (BODIES[Kind.ALLOCATION], "n1", RecordReason.WRONG_ROLE, "record.signer"),
        (Allocation(company="nobody", year=YEAR, quantity_t=1), "n3", RecordReason.UNKNOWN_COMPANY,
         "record.body.company"),
        (BODIES[Kind.SURRENDER], "n2", RecordReason.NOT_COMPANY_MEMBER, "record.signer")]
    for body, signer, reason, field in cases:
        state = funded(kit)
        record = kit.sign(body, signer)
        before = stateless_refusal(kit.genesis, record)
        assert before is not None
        assert (before.reason, before.field) == (reason, field)
        ordered = evaluate_and_apply(kit.genesis, state, record.encode(), kit.block_time_ms())
        assert (ordered.reason, ordered.field, ordered.detail) == (reason, field, before.detail)
    too_much = kit.sign(Surrender(company="acme", year=YEAR, quantity_t=10**6), "n1")
    assert stateless_refusal(kit.genesis, too_much) is None
