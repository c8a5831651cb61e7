"""Proofs for query rows: every reading a row sums, with its Merkle proof, checkable offline.

`attach_proofs` gives each row the proofs (`carbonlab.node.ledger.proof`) of the readings it
sums; `verify_answer` checks a whole result with genesis alone: every proof verifies (reading
-> gateway-signed batch -> certified block) in a block at or below the answer's height, every
proven reading belongs to its row (meter in the row's group and the filter, interval inside
the row's period and the range, flag and substitution as filtered), no reading is proven
twice, each row names a group and a period the answer asks for, once, and the row's counts
and sums are those of its proven readings (its shares were held to its counts when it was
read, `RollupRow.from_json`). Then `audit` checks what can be shown about readings and rows
left out, and says what cannot. A changed value anywhere fails one of these.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import typedsql
from carbonlab.node.ledger.proof import ProofCache, ProofError, build_proof, check_proof
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.typedsql import meters_in
from carbonlab.node.model import Reading
from carbonlab.node.query import audit
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


_FILTERED = ("flag", "substituted")


def attach_proofs(ledger: Ledger, db: sqlite3.Connection, result: QueryResult) -> QueryResult:
    check_proof_budget(result)
    flt = result.filter
    cache = ProofCache()
    rows = []
    every = sorted({m for row in result.rows for m in _row_meters(ledger.genesis, result, row)})
    if every:   # text in interval_start, which the ranges below would leave out unsaid
        typedsql.hidden(db, "readings", "interval_start", meters_in(every), every)
    for row in result.rows:
        meters = sorted(_row_meters(ledger.genesis, result, row))
        lo = max(row.period_start, flt.since if flt.since is not None else row.period_start)
        hi = min(row.period_end, flt.until if flt.until is not None else row.period_end)
        # the flag and measured filters in the SELECT: a proof is built only for a reading the
        # row sums (the budget counted those), never for every reading of the range; a row
        # whose flag or substituted is of the wrong type is read too, and named (`select`)
        keys = select(db, "readings", ("meter_id", "seq", "interval_start", *_FILTERED),
                      f"{meters_in(meters)} AND interval_start >= ? AND interval_start < ? AND "
                      f"({selected_sql(flt, 'readings')} OR {typedsql.wrong('readings', _FILTERED)})",
                      (*meters, lo, hi), order="interval_start, meter_id")
        proofs = []
        for meter, seq, *_ in keys:
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


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """What `verify_answer` found: `problems` (the answer is not proven: each names its row and
    field) and `notes` (what the proofs cannot settle, said so that a reader does not assume it)."""

    problems: list[str]
    notes: list[str]


def check_proofs(genesis: Genesis, result: QueryResult) -> list[str]:
    """Problems found (empty: every row is proven), checked with genesis alone."""
    return verify_answer(genesis, result).problems


def verify_answer(genesis: Genesis, result: QueryResult) -> AnswerCheck:
    """Every proof, every row's figures and what the answer can be shown to have left out
    (`audit`), with genesis alone."""
    problems: list[str] = []
    step = genesis.params.reading_interval_s
    if result.interval_s != step:
        problems.append(f"interval_s: {result.interval_s} claimed, genesis says {step}")
    scope = audit.Scope.of(genesis, result)
    seen: set[tuple[str, int]] = set()
    proven: list[audit.Proven] = []
    row_at: dict[tuple[audit.Group, int], int] = {}
    checked: list[tuple[int, tuple[str, ...], dict[str, int]]] = []
    for i, row in enumerate(result.rows):
        where = _where(i, row)
        group = scope.row_group(row)
        meters = scope.members.get(group, ())
        own = [f"{where}: {p}" for p in _row_shape(result, row, step)]
        if not meters:
            own.append(f"{where}: names a group the answer's filter selects no meter of")
        elif not scope.overlaps(row.period_start, row.period_end):
            own.append(f"{where}: its period lies outside the answer's since/until")
        earlier = row_at.setdefault((group, row.period_start), i)
        if earlier != i:
            own.append(f"{where}: the same period and group as row {earlier}")
        counts, rows_proven = _prove_row(genesis, scope, i, row, seen, own)
        proven.extend(rows_proven)
        problems.extend(own)
        checked.append((i, meters, counts))
    proven_spans = audit.spans(proven)
    for i, meters, counts in checked:
        row = result.rows[i]
        problems.extend(f"{_where(i, row)}: {p}"
                        for p in audit.interval_problems(scope, row, meters, counts, proven_spans))
    rows_of: dict[audit.Group, set[int]] = {}
    for (group, start) in row_at:
        rows_of.setdefault(group, set()).add(start)
    problems.extend(audit.coverage_problems(scope, rows_of, proven_spans))
    problems.extend(audit.batch_problems(scope, proven, seen, row_at))
    order, notes = audit.seq_findings(scope, proven)
    problems.extend(order)
    return AnswerCheck(problems, notes + _limits(scope))


def _where(i: int, row: RollupRow) -> str:
    return f"row {i} ({row.period_start}, {row.company or ''}/{row.plant or ''}/" \
           f"{row.unit or ''}/{row.stack or ''}/{row.meter or ''})"


def _prove_row(genesis: Genesis, scope: audit.Scope, i: int, row: RollupRow,
               seen: set[tuple[str, int]], problems: list[str]) -> tuple[dict[str, int],
                                                                          list[audit.Proven]]:
    """Check each proof of a row and the row's sums against its proven readings; return the
    proven readings per meter (their count) and the readings themselves."""
    where, flt, height = _where(i, row), scope.flt, scope.result.height
    sums: dict[str, float | None] = dict.fromkeys(SUMMED)
    counts: dict[str, int] = {}
    proven = []
    substituted = 0
    for j, proof in enumerate(row.proofs):
        try:
            reading = check_proof(genesis, proof)
        except ProofError as exc:
            problems.append(f"{where} proof {j}: {exc}")
            continue
        key = (reading.meter_id, reading.seq)
        block = int(proof["block"]["height"])    # check_proof has read the header
        if key in seen:
            problems.append(f"{where} proof {j}: reading {key[0]}/{key[1]} is proven twice")
            continue
        seen.add(key)
        if block > height:
            problems.append(f"{where} proof {j}: reading {key[0]}/{key[1]} is in block {block}, "
                            f"above the answer's height {height} (the rows are as of that height)")
        inside = row.period_start <= reading.interval_start < row.period_end
        if not inside or not scope.selects(reading) or scope.group_of(reading.meter_id) != \
                scope.row_group(row):
            problems.append(f"{where} proof {j}: reading {key[0]}/{key[1]} does not belong "
                            "to this row (its meter, period, range, flag or substitution)")
            continue
        proven.append(audit.Proven(reading, i, proof["batch"], block))
        counts[reading.meter_id] = counts.get(reading.meter_id, 0) + 1
        substituted += int(reading.substituted)
        for column in _summed(flt):
            value = getattr(reading, column, None)
            if value is not None:
                sums[column] = (sums[column] or 0.0) + value
    count = sum(counts.values())
    if count != row.readings:
        problems.append(f"{where}: readings: {row.readings} claimed, {count} proven")
    if substituted != row.substituted:
        problems.append(f"{where}: substituted: {row.substituted} claimed, {substituted} of the "
                        "proven readings are")
    for column in SUMMED:   # a gas the filter leaves out is claimed as None, never a value
        claimed: Any = getattr(row, column)
        if not _close(claimed, sums[column]):
            problems.append(f"{where}: {column}: {claimed} claimed, the proven readings sum "
                            f"to {sums[column]}")
    return counts, proven


def _limits(scope: audit.Scope) -> list[str]:
    """What this answer's kind leaves unproven, said once beside the verdict."""
    out = []
    if not scope.exact_range:
        out.append("no since and until: a meter's readings before its first and after its last "
                   "proven one, and meters with no proven reading, may be left out unseen")
    if not scope.every_reading:
        out.append("a flag or measured filter: the readings it leaves out are not proven, so "
                   "`missing` is checked as an upper bound only")
    return out


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
