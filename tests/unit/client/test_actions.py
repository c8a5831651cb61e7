"""Role -> allowed actions, and the client's signed record verifies with the node's own checks."""

from __future__ import annotations

from typing import Any

import pytest

from carbonlab.client import actions
from carbonlab.client.actions import ActionRefused, Organisation
from carbonlab.client.appforms import FormError
from carbonlab.node.allowances.contract import ROLE_OF
from carbonlab.node.allowances.jsonform import record_from_json, record_json
from carbonlab.node.allowances.records import Allocation, Kind, SignedRecord, Surrender
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import ROLES, Genesis

ROLE_LIST = ("power-company", "power-company", "emission-management", "verifier", "environmental-protection",
             "trading-centre", "emission-management")


@pytest.fixture(scope="module")
def keys() -> dict[str, Signer]:
    return {f"n{i + 1}": Signer.from_seed(bytes([i + 1]) * 32) for i in range(len(ROLE_LIST))}


@pytest.fixture(scope="module")
def genesis(keys: dict[str, Signer]) -> Genesis:
    assert set(ROLE_LIST) == set(ROLES)
    members: list[dict[str, Any]] = [
        {"id": m, "organisation": f"org-{m}", "role": role, "public_key": keys[m].public_key.hex()}
        for m, role in zip(keys, ROLE_LIST, strict=True)]
    companies = [{"id": c, "name": c.upper(), "member": member,
                  "plants": [{"id": f"{c}-p", "name": "P", "units": [{"id": f"{c}-u", "name": "U"}]}]}
                 for c, member in (("c1", "n1"), ("c2", "n2"))]
    meters = [{"id": f"{c}-m", "company": c, "plant": f"{c}-p", "unit": f"{c}-u", "stack": "s"}
              for c in ("c1", "c2")]
    return Genesis.from_json({"chain_id": "t", "n": 7, "f": 2, "params": {}, "members": members,
                              "gateways": [], "meters": meters, "companies": companies})


def _org(genesis: Genesis, keys: dict[str, Signer], member: str, with_key: bool = True) -> Organisation:
    return Organisation.of(genesis, member, keys[member] if with_key else None)


def test_each_role_may_take_its_contracts_kinds_and_no_others(
        genesis: Genesis, keys: dict[str, Signer]) -> None:
    expected = {"power-company": (Kind.SURRENDER,), "emission-management": (Kind.ALLOCATION,),
                "verifier": (Kind.STATEMENT,), "trading-centre": (Kind.TRANSFER,),
                "environmental-protection": ()}
    for member, role in zip(keys, ROLE_LIST, strict=True):
        org = _org(genesis, keys, member)
        assert actions.allowed_kinds(genesis, org) == expected[role], member
        for kind in Kind:
            assert (kind in expected[role]) == (ROLE_OF[kind] == role)
            if kind not in expected[role]:
                with pytest.raises(ActionRefused):
                    actions.check_allowed(genesis, org, kind.value)
    # without the key, a console offers nothing and signs nothing
    assert actions.allowed_kinds(genesis, _org(genesis, keys, "n3", with_key=False)) == ()
    with pytest.raises(ActionRefused, match="without the organisation's key"):
        actions.check_allowed(genesis, _org(genesis, keys, "n3", with_key=False), "allocation")


def test_a_key_that_is_not_the_members_is_refused(
        genesis: Genesis, keys: dict[str, Signer]) -> None:
    with pytest.raises(ValueError, match="--key"):
        Organisation.of(genesis, "n3", keys["n4"])
    with pytest.raises(ValueError, match="--member"):
        Organisation.of(genesis, "n99", None)


def test_a_signed_allocation_verifies_with_the_nodes_verifier(
        genesis: Genesis, keys: dict[str, Signer]) -> None:
    org = _org(genesis, keys, "n3")
    record = actions.build(genesis, org, "allocation", {"kind": "allocation", "company": "c1", "year": "2026",
                                                        "quantity_t": "1000"})
    assert record.body == Allocation(company="c1", year=2026, quantity_t=1000)
    assert record.signer == "n3"
    assert record.chain_id == genesis.chain_id
    public = next(m.public_key for m in genesis.members if m.id == "n3")
    assert record.signature_valid(public)
    again = SignedRecord.decode(record.encode())
    assert again.signature_valid(public)
    assert record_from_json(record_json(record)) == record
    forged = SignedRecord(record.chain_id, "n3", record.seq,
                          Allocation(company="c1", year=2026, quantity_t=10**6), record.signature)
    assert not forged.signature_valid(public)


def test_a_power_company_surrenders_only_for_its_own_company(
        genesis: Genesis, keys: dict[str, Signer]) -> None:
    org = _org(genesis, keys, "n1")
    record = actions.build(genesis, org, "surrender", {"company": "c1", "year": "2026", "quantity_t": "5"})
    assert record.body == Surrender(company="c1", year=2026, quantity_t=5)
    with pytest.raises(ActionRefused, match="does not represent 'c2'"):
        actions.build(genesis, org, "surrender", {"company": "c2", "year": "2026", "quantity_t": "5"})


@pytest.mark.parametrize(("form", "field"), [
    ({"company": "c1", "year": "2026", "quantity_t": "1.5"}, "quantity_t"),
    ({"company": "c1", "year": "2026", "quantity_t": "0"}, "quantity_t"),
    ({"company": "c1", "year": "1066", "quantity_t": "3"}, "year"),
    ({"company": "c1", "year": "2026"}, "quantity_t"),
    ({"company": "c1", "year": "2026", "quantity_t": "3", "price_per_t": "5"}, "price_per_t"),
])
def test_a_bad_action_field_is_named(genesis: Genesis, keys: dict[str, Signer], form: dict[str, str],
                                     field: str) -> None:
    with pytest.raises(FormError) as info:
        actions.build(genesis, _org(genesis, keys, "n3"), "allocation", form)
    assert info.value.field == field


def test_a_transfer_to_the_seller_is_named(
        genesis: Genesis, keys: dict[str, Signer]) -> None:
    with pytest.raises(FormError) as info:
        actions.build(genesis, _org(genesis, keys, "n6"), "transfer",
                      {"seller": "c1", "buyer": "c1", "year": "2026", "quantity_t": "3", "price_per_t": "80",
                       "currency": "CNY"})
    assert info.value.field == "buyer"
    with pytest.raises(FormError) as info:
        actions.check_allowed(genesis, _org(genesis, keys, "n6"), "gift")
    assert info.value.field == "kind"
