"""Proofs for query rows: every reading a row sums, with its Merkle proof, checkable offline.

`attach_proofs` gives each row the proofs (`carbonlab.node.ledger.proof`) of the readings it
sums; `check_proofs` checks a whole result with genesis alone: every proof verifies (reading
-> gateway-signed batch -> certified block), every proven reading belongs to its row (meter
in the row's group and the filter, interval inside the row's period and the range, flag and
substitution as filtered), no reading is proven twice, and the row's count and masses are
the sums of its proven readings. A changed value anywhere fails one of these.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.proof import ProofCache, ProofError, build_proof, check_proof
from carbonlab.node.model import Reading
from carbonlab.node.query.columns import ENERGY_COLUMNS, GAS_COLUMNS, SUMMED
from carbonlab.node.query.filters import LEVEL_KEYS, EmissionsFilter, Measured
from carbonlab.node.query.rollup import (
    QueryResult,
    RollupRow,
    bucket_end,
    bucket_floor,
    check_proof_budget,
    selected_sql,
)

if TYPE_CHECKING:
    from carbonlab.node.ledger.store import Ledger

REL_TOLERANCE = 1e-9


def _row_meters(genesis: Genesis, result: QueryResult, row: RollupRow) -> set[str]:
    chosen = set(result.filter.check(genesis))
    keys = LEVEL_KEYS[result.level]
    out = set()
    for m in genesis.meters:
        if m.id in chosen and all(getattr(row, k) == (m.id if k == "meter" else getattr(m, k))
                                  for k in keys):
            out.add(m.id)
    return out


def _selected(flt: EmissionsFilter, r: Reading) -> bool:
    if flt.flags and r.flag not in flt.flags:
        return False
    if flt.measured is Measured.MEASURED and r.substituted:
        return False
    return not (flt.measured is Measured.SUBSTITUTED and not r.substituted)


def attach_proofs(ledger: Ledger, db: sqlite3.Connection, result: QueryResult) -> QueryResult:
    check_proof_budget(result)
    flt = result.filter
    cache = ProofCache()
    rows = []
    for row in result.rows:
        meters = sorted(_row_meters(ledger.genesis, result, row))
        lo = max(row.period_start, flt.since if flt.since is not None else row.period_start)
        hi = min(row.period_end, flt.until if flt.until is not None else row.period_end)
        # the flag and measured filters in the SELECT: a proof is built only for a reading the
        # row sums (the budget counted those), never for every reading of the range
        keys = db.execute(
            f"SELECT meter_id, seq FROM readings r WHERE meter_id IN ({', '.join('?' * len(meters))})"
            f" AND interval_start >= ? AND interval_start < ? AND {selected_sql(flt, 'r')} "
            "ORDER BY interval_start, meter_id", (*meters, lo, hi)).fetchall()
        proofs = []
        for meter, seq in keys:
            proof = build_proof(ledger, db, meter, seq, cache)
            if proof is None:
                continue
            if _selected(flt, Reading.from_json(proof["reading"])):
                proofs.append(proof)
        rows.append(replace(row, proofs=tuple(proofs)))
    return replace(result, rows=tuple(rows))


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= REL_TOLERANCE * max(1.0, abs(a), abs(b))


def check_proofs(genesis: Genesis, result: QueryResult) -> list[str]:
    """Problems found (empty: every row is proven), checked with genesis alone."""
    problems: list[str] = []
    seen: set[tuple[str, int]] = set()
    flt = result.filter
    step = genesis.params.reading_interval_s
    if result.interval_s != step:
        problems.append(f"interval_s: {result.interval_s} claimed, genesis says {step}")
    for i, row in enumerate(result.rows):
        where = f"row {i} ({row.period_start}, {row.company or ''}/{row.plant or ''}/" \
                f"{row.unit or ''}/{row.stack or ''}/{row.meter or ''})"
        problems.extend(f"{where}: {p}" for p in _row_shape(result, row, step))
        meters = _row_meters(genesis, result, row)
        sums: dict[str, float | None] = dict.fromkeys(SUMMED)
        count = substituted = 0
        for j, proof in enumerate(row.proofs):
            try:
                reading = check_proof(genesis, proof)
            except ProofError as exc:
                problems.append(f"{where} proof {j}: {exc}")
                continue
            key = (reading.meter_id, reading.seq)
            if key in seen:
                problems.append(f"{where} proof {j}: reading {key[0]}/{key[1]} is proven twice")
            seen.add(key)
            inside = row.period_start <= reading.interval_start < row.period_end and \
                (flt.since is None or reading.interval_start >= flt.since) and \
                (flt.until is None or reading.interval_start < flt.until)
            if reading.meter_id not in meters or not inside or not _selected(flt, reading):
                problems.append(f"{where} proof {j}: reading {key[0]}/{key[1]} does not belong "
                                "to this row")
                continue
            count += 1
            substituted += int(reading.substituted)
            for column in _summed(flt):
                value = getattr(reading, column, None)
                if value is not None:
                    sums[column] = (sums[column] or 0.0) + value
        if count != row.readings or substituted != row.substituted:
            problems.append(f"{where}: {row.readings} readings ({row.substituted} substituted) "
                            f"claimed, {count} ({substituted}) proven")
        for column in SUMMED:   # a gas the filter leaves out is claimed as None, never a value
            claimed: Any = getattr(row, column)
            if not _close(claimed, sums[column]):
                problems.append(f"{where}: {column} {claimed} claimed, the proven readings sum "
                                f"to {sums[column]}")
    return problems


def _summed(flt: EmissionsFilter) -> tuple[str, ...]:
    return (*(c for g, c in GAS_COLUMNS.items() if g in flt.gases), *ENERGY_COLUMNS)


def _row_shape(result: QueryResult, row: RollupRow, step: int) -> list[str]:
    """What a row claims about itself that genesis and the answer's period and level decide:
    its period's bounds, and which of company..meter it names."""
    out = []
    if bucket_floor(result.period, row.period_start, step) != row.period_start:
        out.append(f"period_start {row.period_start} is not the start of a {result.period.value}")
    elif row.period_end != bucket_end(result.period, row.period_start, step):
        out.append(f"period_end {row.period_end} is not the end of the {result.period.value} "
                   f"starting {row.period_start}")
    keys = LEVEL_KEYS[result.level]
    for name in ("company", "plant", "unit", "stack", "meter"):
        value = getattr(row, name)
        if name in keys and value is None:
            out.append(f"{name}: a row of level {result.level.value} names none")
        elif name not in keys and value is not None:
            out.append(f"{name} {value!r} named in a row of level {result.level.value}")
    return out
