"""The contract's per-reading checks on their fast path: genesis looked up once, not per reading.

Theory of operation. `contract._check_reading` states each stateless check of a reading in
order, with the message naming the field that fails; it is exact but pays for that on
every reading (a dictionary per range, f-strings for paths, enum lookups). `reading_passes`
makes the same checks with everything genesis fixes precomputed per meter (`MeterCheck`),
and only answers whether they all pass. It is conservative by construction: it returns True
only when every check `_check_reading` makes passes; on False the contract runs
`_check_reading` itself, which finds and words the first problem exactly as before. So no
check is dropped and every verdict keeps its wording; the fast path is just not taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.node import emissions
from carbonlab.node.contract_channels import channel_problem
from carbonlab.node.emissions import Co2Method
from carbonlab.node.genesis import MEASURES, Genesis, MeterInfo
from carbonlab.node.model import Basis, Reading

_ABSOLUTE_ZERO_C = emissions.ABSOLUTE_ZERO_C
_co2_mass_kg = emissions.co2_mass_kg
_mass_matches = emissions.mass_matches


@dataclass(frozen=True, slots=True)
class MeterCheck:
    """What genesis fixes for one meter, in the shape the fast path reads."""

    meter: MeterInfo
    bounds: tuple[float, ...]          # lo, hi of each of MEASURES, in order
    basis: Basis | None                # None: genesis names a basis no reading can carry
    basis_text: str
    method: Co2Method
    plain: bool                        # no wire-version-2 channels declared


@dataclass(frozen=True, slots=True)
class ContractTable:
    meters: dict[str, MeterCheck]
    assigned: dict[str, frozenset[str]]   # gateway -> the meters it may report for


def _build(genesis: Genesis) -> ContractTable:
    meters = {}
    for m in genesis.meters:
        bounds = tuple(x for name in MEASURES for x in m.ranges[name])
        basis = Basis(m.co2_basis) if m.co2_basis in Basis._value2member_map_ else None
        plain = not m.gases and m.load.gross_mw is None and m.load.heat_input_mw is None
        meters[m.id] = MeterCheck(m, bounds, basis, m.co2_basis, m.co2_method, plain)
    return ContractTable(meters, {g.id: frozenset(g.meters) for g in genesis.gateways})


_TABLES: dict[int, tuple[Genesis, ContractTable]] = {}


def table_of(genesis: Genesis) -> ContractTable:
    """The table of `genesis`, built on first use (a handful of genesis objects per process)."""
    entry = _TABLES.get(id(genesis))
    if entry is not None and entry[0] is genesis:
        return entry[1]
    table = _build(genesis)
    if len(_TABLES) >= 64:
        del _TABLES[next(iter(_TABLES))]
    _TABLES[id(genesis)] = (genesis, table)
    return table


def reading_passes(check: MeterCheck | None, assigned: frozenset[str], r: Reading) -> bool:
    """True only if every stateless check of `contract._check_reading` passes for `r`."""
    if check is None or r.meter_id not in assigned or r.interval_start % r.interval_s:
        return False
    l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5 = check.bounds
    temp = r.temp_c
    if not (l0 <= r.co2_pct <= h0 and l1 <= r.o2_pct <= h1 and l2 <= r.h2o_pct <= h2
            and l3 <= r.flow_m3_s <= h3 and l4 <= temp <= h4 and l5 <= r.pressure_kpa <= h5
            and temp > _ABSOLUTE_ZERO_C):
        return False
    if r.co2_basis is not check.basis or r.co2_method is not check.method:
        return False
    computed = _co2_mass_kg(r.co2_pct, check.basis_text, r.h2o_pct, r.flow_m3_s, temp,
                            r.pressure_kpa, r.interval_s, r.co2_method)
    if not _mass_matches(r.co2_kg, computed):
        return False
    if check.plain and r.ch4_kg is None and r.n2o_kg is None and r.gross_mwh is None \
            and r.heat_input_gj is None and r.ch4_conc is None and r.n2o_conc is None:
        return True
    return channel_problem(check.meter, r, "reading") is None
