"""The structure module: emissions broken down company -> plant -> unit -> stack and by gas.

Every node of the tree carries the masses of each gas, their CO2e under the GWP set the
query names (never stored: `carbonlab.node.gwp`), its share of the whole's CO2e, the
intensity in t CO2 per MWh of gross output (where its readings carry MWh: the unit's gross
output is reported on its meters' readings, so a unit whose stacks each report the unit's
output would count it once per stack; register maps put it on one meter per unit),
the share of its readings that were measured (not substituted), and the change of its CO2e
against the previous period of the same length ([since - (until - since), since)).

Without a time range, the range is the selected meters' first reading's start to their last
reading's end on the ledger; with one bound, the other is taken from there, and a range that
then ends before it starts is refused naming the bound given.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet, co2e_kg
from carbonlab.node.ledger import typedsql
from carbonlab.node.ledger.typedsql import meters_in
from carbonlab.node.query.filters import EmissionsFilter, FilterError, Gas
from carbonlab.node.query.rollup import meter_buckets

LEVELS = ("all", "company", "plant", "unit", "stack")


@dataclass(frozen=True, slots=True)
class Totals:
    co2_kg: float | None = None
    ch4_kg: float | None = None
    n2o_kg: float | None = None
    gross_mwh: float | None = None
    heat_input_gj: float | None = None
    readings: int = 0
    substituted: int = 0

    def plus(self, other: Totals) -> Totals:
        def add(a: float | None, b: float | None) -> float | None:
            return a if b is None else b if a is None else a + b

        return Totals(add(self.co2_kg, other.co2_kg), add(self.ch4_kg, other.ch4_kg),
                      add(self.n2o_kg, other.n2o_kg), add(self.gross_mwh, other.gross_mwh),
                      add(self.heat_input_gj, other.heat_input_gj),
                      self.readings + other.readings, self.substituted + other.substituted)

    def co2e(self, gwp: GwpSet) -> float:
        return co2e_kg(self.co2_kg or 0.0, self.ch4_kg, self.n2o_kg, gwp)


@dataclass(frozen=True, slots=True)
class StructureNode:
    level: str
    name: str
    totals: Totals
    co2e_kg: float
    share: float                      # of the whole tree's CO2e (0..1)
    intensity_t_per_mwh: float | None
    measured_share: float | None      # None when it has no reading
    previous_co2e_kg: float | None    # None when the previous period has no reading
    change: float | None              # (co2e - previous) / previous; None without a previous
    children: tuple[StructureNode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        t = self.totals
        return {"level": self.level, "name": self.name,
                "co2_t": _t(t.co2_kg), "ch4_t": _t(t.ch4_kg), "n2o_t": _t(t.n2o_kg),
                "co2e_t": self.co2e_kg / 1000, "share": self.share,
                "gross_mwh": t.gross_mwh, "heat_input_gj": t.heat_input_gj,
                "intensity_t_per_mwh": self.intensity_t_per_mwh, "readings": t.readings,
                "substituted": t.substituted, "measured_share": self.measured_share,
                "previous_co2e_t": _t(self.previous_co2e_kg), "change": self.change,
                "children": [c.to_json() for c in self.children]}


    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StructureNode:
        def kg(name: str) -> float | None:
            value = obj[name]
            return None if value is None else value * 1000

        totals = Totals(kg("co2_t"), kg("ch4_t"), kg("n2o_t"), obj["gross_mwh"],
                        obj["heat_input_gj"], obj["readings"], obj["substituted"])
        return cls(obj["level"], obj["name"], totals, obj["co2e_t"] * 1000, obj["share"],
                   obj["intensity_t_per_mwh"], obj["measured_share"], kg("previous_co2e_t"),
                   obj["change"], tuple(cls.from_json(c) for c in obj["children"]))


@dataclass(frozen=True, slots=True)
class GasShare:
    gas: Gas
    mass_t: float | None
    co2e_t: float
    share: float


@dataclass(frozen=True, slots=True)
class StructureResult:
    filter: EmissionsFilter
    gwp: GwpSet
    since: int | None
    until: int | None
    previous_since: int | None
    root: StructureNode
    by_gas: tuple[GasShare, ...]

    def to_json(self) -> dict[str, Any]:
        return {"filter": self.filter.params(), "gwp": self.gwp.value, "since": self.since,
                "until": self.until, "previous_since": self.previous_since,
                "by_gas": [{"gas": g.gas.value, "mass_t": g.mass_t, "co2e_t": g.co2e_t,
                            "share": g.share} for g in self.by_gas],
                "tree": self.root.to_json()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StructureResult:
        return cls(EmissionsFilter.from_params(obj["filter"]), GwpSet(obj["gwp"]), obj["since"],
                   obj["until"], obj["previous_since"], StructureNode.from_json(obj["tree"]),
                   tuple(GasShare(Gas(g["gas"]), g["mass_t"], g["co2e_t"], g["share"])
                         for g in obj["by_gas"]))


def _t(kg: float | None) -> float | None:
    return None if kg is None else kg / 1000


def _range(db: sqlite3.Connection, flt: EmissionsFilter,
           meters: tuple[str, ...]) -> tuple[int | None, int | None]:
    if flt.since is not None and flt.until is not None:
        return flt.since, flt.until
    where, columns = meters_in(meters), ("interval_start", "interval_s")
    lo, hi, bad = db.execute(f"SELECT MIN(interval_start), MAX(interval_start + interval_s), "
                             f"{typedsql.witness('readings', columns)} FROM readings "
                             f"WHERE {where}", meters).fetchone()
    if bad:
        typedsql.name_wrong(db, "readings", columns, where, meters)
    since = flt.since if flt.since is not None else lo
    until = flt.until if flt.until is not None else hi
    if since is not None and until is not None and until <= since:
        # one bound given, the other the ledger's: a range that ends before it starts
        if flt.since is None:
            raise FilterError("until", f"{until} is not after the selected meters' first reading "
                                       f"({since}); give since too")
        raise FilterError("since", f"{since} is not before the end of the selected meters' last "
                                   f"reading ({until}); give until too")
    return since, until


def _per_meter(db: sqlite3.Connection, flt: EmissionsFilter,
               meters: tuple[str, ...]) -> dict[str, Totals]:
    out = {}
    for _, meter, co2, ch4, n2o, mwh, gj, selected, substituted, _every in meter_buckets(
            db, flt, None, meters):
        out[meter] = Totals(co2, ch4, n2o, mwh, gj, selected, substituted)
    return out


def structure(db: sqlite3.Connection, genesis: Genesis, flt: EmissionsFilter,
              gwp: GwpSet = GwpSet.AR5) -> StructureResult:
    meters = flt.check(genesis)
    since, until = _range(db, flt, meters)
    now = _per_meter(db, replace(flt, since=since, until=until), meters)
    before: dict[str, Totals] = {}
    previous_since = None
    if since is not None and until is not None:
        previous_since = since - (until - since)
        before = _per_meter(db, replace(flt, since=previous_since, until=since), meters)
    info = genesis.meter_by_id
    whole = Totals()
    for m in meters:
        whole = whole.plus(now.get(m, Totals()))
    whole_e = whole.co2e(gwp)

    def build(level: int, name: str, members: list[str]) -> StructureNode:
        children: tuple[StructureNode, ...] = ()
        if level + 1 < len(LEVELS):
            key = LEVELS[level + 1]
            children = tuple(build(level + 1, n, [m for m in members if getattr(info[m], key) == n])
                             for n in sorted({getattr(info[m], key) for m in members}))
        t, prev = Totals(), Totals()
        for m in members:
            t, prev = t.plus(now.get(m, Totals())), prev.plus(before.get(m, Totals()))
        e = t.co2e(gwp)
        prev_e = prev.co2e(gwp) if prev.readings else None
        return StructureNode(
            LEVELS[level], name, t, e, e / whole_e if whole_e else 0.0,
            (t.co2_kg or 0.0) / 1000 / t.gross_mwh if t.gross_mwh else None,
            (t.readings - t.substituted) / t.readings if t.readings else None,
            prev_e, (e - prev_e) / prev_e if prev_e else None, children)

    root = build(0, "all", list(meters))
    totals = root.totals
    by_gas = []
    for gas, only in ((Gas.CO2, Totals(co2_kg=totals.co2_kg)), (Gas.CH4, Totals(ch4_kg=totals.ch4_kg)),
                      (Gas.N2O, Totals(n2o_kg=totals.n2o_kg))):
        if gas not in flt.gases:
            continue
        mass = getattr(only, f"{gas.value}_kg")
        e = only.co2e(gwp)
        by_gas.append(GasShare(gas, _t(mass), e / 1000, e / whole_e if whole_e else 0.0))
    return StructureResult(flt, gwp, since, until, previous_since, root, tuple(by_gas))

