"""Allowance records in the ledger: the `allowance_records` table, its rows, the state and
the queries derived from it.

A record request's certified bytes sit in `batches` like every request (so the block's
`batches_root` and the certificate cover them, and blocks and state transfer carry them
unchanged); its row there has the neutral verdict `RECORD_VERDICT` (accepted, no gateway),
and what the allowance contract made of it is one row of `allowance_records` at the same
(height, idx): the record's id, signer, seq, kind, the company (for a transfer the seller),
the buyer, the year, the quantity, and accepted or refused with reason, field and detail.
Those columns are derived: `carbonlab ledger verify` re-runs the contract and compares every
row. When a ledger is opened, `replay_allowance_state` rebuilds the contract's state (balances,
statements, each signer's last seq) by re-running the contract over the certified record
requests (found through the `batches_by_key` index: their gateway_id is NULL; records are few,
so this costs little) and refuses the file when a stored row differs: a hand-edited or deleted
row would otherwise give this member balances the others do not have, and it would go on
deciding new records differently from them. `load_allowance_state` reads the state from the
accepted rows as stored (what a reader shows).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from carbonlab.node.allowances.answers import Balance, RecordEntry, RecordState, RecordStatus
from carbonlab.node.allowances.contract import AllowanceState, Outcome, RecordReason, evaluate_and_apply
from carbonlab.node.allowances.records import Kind, SignedRecord, Transfer, is_record
from carbonlab.node.contract import Verdict
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.rows import table_problems
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.tables import ALLOWANCE_COLUMNS as COLUMNS

INSERT = f"INSERT INTO allowance_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

# a record request's verdict in `batches`: ordered and handed to the allowance contract
RECORD_VERDICT = Verdict(True, None, "", None, None)


def record_row(height: int, idx: int, outcome: Outcome) -> tuple[Any, ...]:
    r = outcome.record
    if r is None:
        parts: tuple[Any, ...] = (None,) * 7
    else:
        body = r.body
        company = body.seller if isinstance(body, Transfer) else body.company
        parts = (r.signer, r.seq, r.kind.value, body.year, company,
                 body.buyer if isinstance(body, Transfer) else None, getattr(body, "quantity_t", None))
    return (height, idx, outcome.record_id, *parts, int(outcome.accepted),
            outcome.reason.value if outcome.reason else None, outcome.field, outcome.detail)


def load_allowance_state(db: sqlite3.Connection) -> AllowanceState:
    state = AllowanceState()
    for signer, seq in db.execute("SELECT signer, MAX(seq) FROM allowance_records WHERE accepted = 1 "
                                  "GROUP BY signer"):
        state.last_seq[signer] = seq
    for kind, company, buyer, year, quantity in db.execute(
            "SELECT kind, company, buyer, year, quantity_t FROM allowance_records WHERE accepted = 1 "
            "ORDER BY height, idx"):
        key = (company, year)
        if kind == Kind.STATEMENT:
            state.statements.add(key)
            continue
        sign = 1 if kind == Kind.ALLOCATION else -1
        state.held[key] = state.held.get(key, 0) + sign * quantity
        if kind == Kind.TRANSFER:
            state.held[(buyer, year)] = state.held.get((buyer, year), 0) + quantity
        elif kind == Kind.SURRENDER:
            state.surrendered[key] = state.surrendered.get(key, 0) + quantity
    return state


def replay_allowance_state(db: sqlite3.Connection, genesis: Genesis) -> AllowanceState:
    """The contract's state from a re-run over the certified record requests; `LedgerError`
    naming the first stored row that differs from the re-run (or is missing, or extra)."""
    state = AllowanceState()
    expected: dict[int, list[tuple[Any, ...]]] = {}
    times: dict[int, list[tuple[Any, ...]]] = {}
    for height, idx, request in select(db, "batches", ("height", "idx", "request"),
                                       "gateway_id IS NULL", order="height, idx"):
        if height not in times:
            times[height] = select(db, "blocks", ("timestamp_ms",), "height = ?", (height,))
        if is_record(request) and times[height]:
            outcome = evaluate_and_apply(genesis, state, request, times[height][0][0])
            expected.setdefault(height, []).append(record_row(height, idx, outcome))
    stored = {h for (h,) in db.execute("SELECT DISTINCT height FROM allowance_records")}
    for height in sorted(set(expected) | stored):
        found = problems(db, height, expected.get(height, []))
        if found:
            raise LedgerError(f"block {height}: {found[0]}; the allowance records were edited outside "
                              "the node (carbonlab ledger verify --genesis names every difference)")
    return state


def status(db: sqlite3.Connection, record_id: str) -> RecordStatus | None:
    """The first execution of these bytes decides (a later copy is a refused duplicate)."""
    row = db.execute("SELECT height, accepted, reason, field, detail FROM allowance_records "
                     "WHERE record_id = ? ORDER BY height, idx LIMIT 1", (record_id,)).fetchone()
    if row is None:
        return None
    height, accepted, reason, field, detail = row
    return RecordStatus(record_id, RecordState.COMMITTED if accepted else RecordState.REFUSED, height,
                        None if reason is None else RecordReason(reason), field, detail)


def balance(db: sqlite3.Connection, company: str, year: int) -> Balance:
    sums = db.execute(
        "SELECT COALESCE(SUM(CASE WHEN kind = 'allocation' AND company = :c THEN quantity_t END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'transfer' AND buyer = :c THEN quantity_t END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'transfer' AND company = :c THEN quantity_t END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'surrender' AND company = :c THEN quantity_t END), 0) "
        "FROM allowance_records WHERE accepted = 1 AND year = :y AND (company = :c OR buyer = :c)",
        {"c": company, "y": year}).fetchone()
    return Balance(company, year, *sums)


def entries(db: sqlite3.Connection, *, company: str | None = None, year: int | None = None,
            kind: Kind | None = None) -> list[RecordEntry]:
    """Executed records that decoded, in chain order; refused ones too (with their reason)."""
    where: list[str] = ["a.signer IS NOT NULL"]
    args: list[Any] = []
    if company is not None:
        where.append("(a.company = ? OR a.buyer = ?)")
        args += [company, company]
    if year is not None:
        where.append("a.year = ?")
        args.append(year)
    if kind is not None:
        where.append("a.kind = ?")
        args.append(kind.value)
    rows = db.execute(
        "SELECT a.height, a.idx, b.request, a.accepted, a.reason, a.field, a.detail FROM "
        "allowance_records a JOIN batches b ON b.height = a.height AND b.idx = a.idx "
        f"WHERE {' AND '.join(where)} ORDER BY a.height, a.idx", args).fetchall()
    return [RecordEntry(h, i, SignedRecord.decode(bytes(req)), bool(ok),
                        None if reason is None else RecordReason(reason), field, detail)
            for h, i, req, ok, reason, field, detail in rows]


def problems(db: sqlite3.Connection, height: int, expected: list[tuple[Any, ...]]) -> list[str]:
    """How the stored `allowance_records` rows of block `height` differ from a re-run of the
    contract (`expected`, as `record_row` makes them): each difference named by column."""
    stored = {r[1]: r for r in select(db, "allowance_records", COLUMNS, "height = ?", (height,),
                                       order="idx")}
    want = {r[1]: r for r in expected}
    return table_problems(
        stored, want, COLUMNS, "contract",
        missing=lambda i: f"allowance record {i} is a certified record request missing from the "
                          "allowance_records table",
        extra=lambda i: f"allowance record {i} is in the allowance_records table but the request is "
                        "no record",
        differs=lambda i: f"allowance record {i} in the allowance_records table differs", order=int)
