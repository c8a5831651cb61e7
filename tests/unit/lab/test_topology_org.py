"""The topology's `companies:` section into genesis: read, derived, checked, versioned."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from carbonlab.lab.errors import TopologyError
from carbonlab.lab.inventory import genesis_spec
from carbonlab.lab.ports import plan
from carbonlab.lab.topology import parse
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis
from carbonlab.node.organisation import Fuel
from tests.unit.lab.test_topology import default_raw
from tests.unit.node.factories import make_genesis_json


def test_default_topology_names_companies_plants_and_units() -> None:
    topo = parse(default_raw(), "lab.yaml")
    assert [(c.id, c.member) for c in topo.companies] == [("genco-a", "n1"), ("genco-b", "n2")]
    unit = topo.companies[0].plants[0].units[0]
    assert (unit.id, unit.capacity_mw, unit.min_mw, unit.ramp_mw_per_h, unit.fuel) == \
        ("u1", 600.0, 240.0, 360.0, Fuel.COAL)


def test_without_the_section_it_is_derived_from_the_meters() -> None:
    raw = default_raw()
    del raw["companies"]
    topo = parse(raw, "lab.yaml")
    assert [c.id for c in topo.companies] == ["genco-a", "genco-b"]
    assert [c.member for c in topo.companies] == ["n1", "n2"]
    assert [u.id for u in topo.companies[0].plants[0].units] == [f"u{i}" for i in range(1, 8)]
    assert topo.companies[0].plants[0].units[0].capacity_mw is None


def _genesis_of(raw: dict[str, Any]) -> Genesis:
    topo = parse(raw, "lab.yaml")
    spec = genesis_spec(topo, plan(topo, {h.id: "127.0.0.1" for h in topo.hosts}, loopback_ports=True))
    for i, m in enumerate(spec["members"]):
        m["public_key"] = Signer.from_seed(bytes([i + 1]) * 32).public_key.hex()
    for i, g in enumerate(spec["gateways"]):
        g["public_key"] = Signer.from_seed(bytes([100 + i]) * 32).public_key.hex()
    return Genesis.from_json(spec)


def test_genesis_carries_the_hierarchy_and_reads_it_back() -> None:
    genesis = _genesis_of(default_raw())
    assert [c.id for c in genesis.companies] == ["genco-a", "genco-b"]
    again = Genesis.from_json(genesis.to_json())
    assert again.companies == genesis.companies
    assert again.hash == genesis.hash


def test_a_genesis_without_the_section_keeps_its_json_and_hash() -> None:
    raw = make_genesis_json()
    genesis = Genesis.from_json(raw)
    assert genesis.companies == ()
    assert "companies" not in genesis.to_json()
    assert Genesis.from_json(genesis.to_json()).hash == genesis.hash


def _unit(raw: dict[str, Any]) -> dict[str, Any]:
    unit: dict[str, Any] = raw["companies"][0]["plants"][0]["units"][0]
    return unit


def _unknown_unit(raw: dict[str, Any]) -> None:
    raw["companies"][0]["plants"][0]["units"].pop(0)


def _verifier_member(raw: dict[str, Any]) -> None:
    raw["companies"][0]["member"] = "n5"


def _negative_capacity(raw: dict[str, Any]) -> None:
    _unit(raw)["capacity_mw"] = -5


def _min_above_capacity(raw: dict[str, Any]) -> None:
    _unit(raw)["min_mw"] = 900


def _bad_fuel(raw: dict[str, Any]) -> None:
    _unit(raw)["fuel"] = "peat-ish"


def _duplicate_company(raw: dict[str, Any]) -> None:
    raw["companies"][1]["id"] = "genco-a"


def _unknown_key(raw: dict[str, Any]) -> None:
    _unit(raw)["capacity"] = 5


CASES = [
    (_unknown_unit, "meters[0].unit", "'u1' is not a unit of genco-a/plant-a"),
    (_verifier_member, "companies[0].member", "'n5' is not a power-company member"),
    (_negative_capacity, "companies[0].plants[0].units[0].capacity_mw", "-5"),
    (_min_above_capacity, "companies[0].plants[0].units[0].min_mw", "above capacity_mw"),
    (_bad_fuel, "companies[0].plants[0].units[0].fuel", "peat-ish"),
    (_duplicate_company, "companies", "duplicate id 'genco-a'"),
    (_unknown_key, "companies[0].plants[0].units[0].capacity", "unknown field"),
]


@pytest.mark.parametrize(("mutate", "field", "words"), CASES, ids=[c[0].__name__[1:] for c in CASES])
def test_a_bad_section_is_rejected_naming_the_field(mutate: Any, field: str, words: str) -> None:
    raw = copy.deepcopy(default_raw())
    mutate(raw)
    with pytest.raises(TopologyError) as info:
        parse(raw, "lab.yaml")
    assert info.value.field == field
    assert words in str(info.value)


def test_genesis_refuses_a_meter_outside_its_hierarchy() -> None:
    raw = _genesis_of(default_raw()).to_json()
    raw["meters"][0]["unit"] = "u99"
    with pytest.raises(ValueError, match=r"genesis.meters\[0\].unit: 'u99' is not a unit"):
        Genesis.from_json(raw)
