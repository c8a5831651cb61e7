"""The contract state in the ledger's tables: read at open, written with each block."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from carbonlab.node import codec
from carbonlab.node.anomaly import Baseline
from carbonlab.node.contract import ContractState
from carbonlab.node.ledger.stored import select


def load_state(db: sqlite3.Connection) -> ContractState:
    """The stored state; `StoredValueError` (a value of the wrong type) or `SchemaError` (a
    baseline that does not decode) when the tables were edited by hand."""
    state = ContractState()
    for gateway_id, seq in select(db, "gateway_state", ("gateway_id", "last_batch_seq")):
        state.last_batch_seq[gateway_id] = seq
    for meter_id, seq, end, baseline in select(
            db, "meter_state", ("meter_id", "last_seq", "interval_end", "baseline")):
        state.last_reading_seq[meter_id] = seq
        state.interval_end[meter_id] = end
        if baseline is not None:
            state.baselines[meter_id] = Baseline.from_wire(
                codec.decode(baseline, f"meter_state[{meter_id}].baseline"),
                f"meter_state[{meter_id}].baseline")
    return state


def save_state(db: sqlite3.Connection, state: ContractState, gateways: Iterable[str],
               meters: Iterable[str]) -> None:
    """Upsert the rows of the gateways and meters that changed."""
    db.executemany(
        "INSERT INTO gateway_state (gateway_id, last_batch_seq) VALUES (?, ?) "
        "ON CONFLICT (gateway_id) DO UPDATE SET last_batch_seq = excluded.last_batch_seq",
        [(g, state.last_batch_seq[g]) for g in sorted(set(gateways))])
    rows = []
    for m in sorted(set(meters)):
        baseline = state.baselines.get(m)
        rows.append((m, state.last_reading_seq[m], state.interval_end[m],
                     None if baseline is None else codec.encode(baseline.to_wire())))
    db.executemany(
        "INSERT INTO meter_state (meter_id, last_seq, interval_end, baseline) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (meter_id) DO UPDATE SET last_seq = excluded.last_seq, "
        "interval_end = excluded.interval_end, baseline = excluded.baseline", rows)
