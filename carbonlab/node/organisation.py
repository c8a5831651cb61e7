"""The organisation hierarchy in genesis: companies, their plants and their generating units.

Genesis (section `companies`, optional) names each company (id, name, the power-company
member that represents it on the chain), its plants and their units with what the planning
module needs of a unit (capacity, minimum stable load, ramp rate, fuel). Every member reads
it from the same genesis, so every member answers "which company, which plant" the same way
from its own ledger. The rules of each field are declared once, here, with the shared field
layer (`carbonlab.fields`); the lab's topology reads its `companies:` section with the same
classes.

Versioning: a genesis without the section (every genesis written before it) keeps its JSON
and its hash, because the section is written only when it is not empty; when present, every
meter's company, plant and unit must be in it (`check_meters`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from carbonlab import fields
from carbonlab.fields import FieldError, spec
from carbonlab.node.errors import SchemaError
from carbonlab.node.schema import as_dict, as_list


class Fuel(StrEnum):
    COAL = "coal"
    GAS = "gas"
    OIL = "oil"
    BIOMASS = "biomass"
    WASTE = "waste"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Unit:
    """A generating unit; the numbers are None where the topology did not give them."""

    id: str = spec()
    name: str = spec()
    capacity_mw: float | None = spec(None, lo=0.0, hi=10_000.0)
    min_mw: float | None = spec(None, lo=0.0, hi=10_000.0)
    ramp_mw_per_h: float | None = spec(None, lo=0.0, hi=1_000_000.0)
    fuel: Fuel | None = None


@dataclass(frozen=True, slots=True)
class Plant:
    id: str = spec()
    name: str = spec()
    units: tuple[Unit, ...] = ()


@dataclass(frozen=True, slots=True)
class Company:
    id: str = spec()
    name: str = spec()
    member: str = spec()          # the power-company member that represents it
    plants: tuple[Plant, ...] = ()


def _read(cls: type, raw: Any, path: str, file: str, nested: tuple[str, ...] = ()) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(cls) if f.name not in nested]
    try:
        return fields.values(cls, raw, file=file, prefix=f"{path}.", names=names, allowed=nested)
    except FieldError as exc:
        raise SchemaError(exc.field, exc.problem) from None


def _unit(raw: Any, path: str, file: str) -> Unit:
    unit = Unit(**_read(Unit, raw, path, file))
    if unit.min_mw is not None and unit.capacity_mw is not None and unit.min_mw > unit.capacity_mw:
        raise SchemaError(f"{path}.min_mw", f"{unit.min_mw} is above capacity_mw {unit.capacity_mw}")
    return unit


def _plant(raw: Any, path: str, file: str) -> Plant:
    values = _read(Plant, raw, path, file, ("units",))
    units = tuple(_unit(u, f"{path}.units[{i}]", file)
                  for i, u in enumerate(as_list(raw.get("units", []), f"{path}.units")))
    _unique(f"{path}.units", [u.id for u in units])
    return Plant(**values, units=units)


def companies_from_json(value: Any, path: str, file: str = "genesis") -> tuple[Company, ...]:
    """Read the section; `file` names the document in errors (genesis, a topology file)."""
    out = []
    for i, raw in enumerate(as_list(value, path)):
        where = f"{path}[{i}]"
        as_dict(raw, where)
        values = _read(Company, raw, where, file, ("plants",))
        plants = tuple(_plant(p, f"{where}.plants[{j}]", file)
                       for j, p in enumerate(as_list(raw.get("plants", []), f"{where}.plants")))
        _unique(f"{where}.plants", [p.id for p in plants])
        out.append(Company(**values, plants=plants))
    _unique(path, [c.id for c in out])
    return tuple(out)


def _unique(path: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise SchemaError(path, f"duplicate id {value!r}")
        seen.add(value)


def companies_json(companies: tuple[Company, ...]) -> list[dict[str, Any]]:
    def unit(u: Unit) -> dict[str, Any]:
        out: dict[str, Any] = {"id": u.id, "name": u.name}
        for key in ("capacity_mw", "min_mw", "ramp_mw_per_h"):
            if getattr(u, key) is not None:
                out[key] = getattr(u, key)
        if u.fuel is not None:
            out["fuel"] = u.fuel.value
        return out

    return [{"id": c.id, "name": c.name, "member": c.member,
             "plants": [{"id": p.id, "name": p.name, "units": [unit(u) for u in p.units]}
                        for p in c.plants]} for c in companies]


def check_meters(companies: tuple[Company, ...], meters: list[tuple[str, str, str, str]],
                 members: dict[str, str], path: str) -> None:
    """`meters` as (where, company, plant, unit); `members` id -> role. Raise SchemaError for a
    meter outside the hierarchy or a company represented by no power-company member."""
    units = {(c.id, p.id, u.id) for c in companies for p in c.plants for u in p.units}
    plants = {(c.id, p.id) for c in companies for p in c.plants}
    ids = {c.id for c in companies}
    for where, company, plant, unit in meters:
        if company not in ids:
            raise SchemaError(f"{where}.company", f"{company!r} is not in {path}")
        if (company, plant) not in plants:
            raise SchemaError(f"{where}.plant", f"{plant!r} is not a plant of {company!r} in {path}")
        if (company, plant, unit) not in units:
            raise SchemaError(f"{where}.unit", f"{unit!r} is not a unit of {company}/{plant} in {path}")
    for i, c in enumerate(companies):
        role = members.get(c.member)
        if role != "power-company":
            raise SchemaError(f"{path}[{i}].member", f"{c.member!r} is not a power-company member"
                              + ("" if role is None else f" (its role is {role})"))


def derived(meters: list[tuple[str, str, str]], power_members: list[str]) -> tuple[Company, ...]:
    """The hierarchy the meters imply (company, plant, unit named by their ids, no unit
    figures); companies are represented by the power-company members in turn. Empty without
    a power-company member: then genesis has no section."""
    if not power_members:
        return ()
    out = []
    for i, company in enumerate(sorted({m[0] for m in meters})):
        plants = []
        for plant in sorted({m[1] for m in meters if m[0] == company}):
            units = tuple(Unit(u, u) for u in sorted({m[2] for m in meters if m[:2] == (company, plant)}))
            plants.append(Plant(plant, plant, units))
        out.append(Company(company, company, power_members[i % len(power_members)], tuple(plants)))
    return tuple(out)
