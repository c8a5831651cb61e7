"""How blocks, verdicts and readings become table rows and back (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from carbonlab.node import codec
from carbonlab.node.block import BlockHeader
from carbonlab.node.contract import Verdict
from carbonlab.node.genesis import Genesis, _sorted_items
from carbonlab.node.model import Basis, Batch, DataFlag
from carbonlab.node.schema import as_bytes, as_int, as_list, as_str


def differing(columns: Sequence[str], stored: Sequence[Any], want: Sequence[Any], whose: str) -> str:
    """`col stored (whose: want), ...` over the columns where a stored row differs from the row
    it should be (what `ledger verify` says of a derived row)."""
    return ", ".join(f"{col} {stored[i]!r} ({whose}: {want[i]!r})"
                     for i, col in enumerate(columns) if stored[i] != want[i])


def table_problems(stored: Mapping[Any, Sequence[Any]], want: Mapping[Any, Sequence[Any]],
                   columns: Sequence[str], whose: str, *, missing: Callable[[Any], str],
                   extra: Callable[[Any], str], differs: Callable[[Any], str],
                   order: Callable[[Any], Any] = str) -> list[str]:
    """How a derived table's rows (`stored`, by key) differ from what they should be (`want`):
    one line per key (in `order`) missing, extra, or differing column by column (`differing`)."""
    out = []
    for key in sorted(set(stored) | set(want), key=order):
        if key not in stored:
            out.append(missing(key))
        elif key not in want:
            out.append(extra(key))
        elif tuple(stored[key]) != tuple(want[key]):
            out.append(f"{differs(key)}: {differing(columns, stored[key], want[key], whose)}")
    return out


def genesis_record(genesis: Genesis) -> bytes:
    """Block 0's stored header: the bytes whose SHA-256 is `genesis.hash`."""
    return codec.encode(_sorted_items(genesis.to_json()))


def batch_row(height: int, idx: int, request: bytes, verdict: Verdict) -> tuple[Any, ...]:
    return (height, idx, request, verdict.gateway_id, verdict.batch_seq, int(verdict.accepted),
            verdict.reason.value if verdict.reason else None, verdict.detail,
            json.dumps([[i, a.value] for i, a in verdict.anomalies]), verdict.field)


# the stored text of each enum a reading row holds (a dict lookup: faster than `.value`)
_TEXT: dict[Basis | DataFlag, str] = {**{b: b.value for b in Basis}, **{f: f.value for f in DataFlag}}


def reading_rows_of(height: int, idx: int, batch: Batch, verdict: Verdict) -> list[tuple[Any, ...]]:
    """The batch's `readings` rows, in `READING_COLUMNS` order (the commit's hot path: one
    tuple per reading, no other object)."""
    readings = batch.readings
    if verdict.anomalies:
        marks: dict[int, list[str]] = {}
        for i, mark in verdict.anomalies:
            marks.setdefault(i, []).append(mark.value)
        notes = [",".join(marks.get(i, ())) for i in range(len(readings))]
    else:
        notes = [""] * len(readings)
    text = _TEXT
    return [(r.meter_id, r.seq, height, idx, i, r.interval_start, r.interval_s, r.co2_pct,
             text[r.co2_basis], r.o2_pct, r.h2o_pct, r.flow_m3_s, r.temp_c, r.pressure_kpa,
             r.valid_samples, text[r.flag], r.co2_kg, 1 if r.substituted else 0, note,
             r.ch4_kg, r.n2o_kg, r.gross_mwh, r.heat_input_gj)
            for i, (r, note) in enumerate(zip(readings, notes, strict=True))]


def verdict_of(accepted: int, reason: str | None, detail: str, gateway_id: str | None,
               batch_seq: int | None, anomalies: str, field: str | None) -> Verdict:
    return Verdict.from_json({"accepted": bool(accepted), "reason": reason, "detail": detail,
                              "gateway_id": gateway_id, "batch_seq": batch_seq,
                              "anomalies": json.loads(anomalies),
                              "field": None if accepted else stored_field(field, detail)})


def stored_field(field: str | None, detail: str) -> str:
    """The field a stored rejection names: its `field` column, or for a row written before
    that column existed (NULL there), the head of its detail, which the contract has always
    written as `<field path>: <problem>`."""
    if field is not None:
        return field
    head, sep, _ = detail.partition(": ")
    return head if sep and " " not in head else "batch"


def decode_header(data: bytes, what: str) -> BlockHeader:
    items = as_list(codec.decode(data, what), what, length=8)
    return BlockHeader(
        chain_id=as_str(items[0], f"{what}.chain_id", max_len=64),
        height=as_int(items[1], f"{what}.height", lo=0),
        prev_hash=as_bytes(items[2], f"{what}.prev_hash", size=32),
        proposal_digest=as_bytes(items[3], f"{what}.proposal_digest", size=32),
        timestamp_ms=as_int(items[4], f"{what}.timestamp_ms", lo=0),
        proposer=as_str(items[5], f"{what}.proposer", max_len=64),
        batch_count=as_int(items[6], f"{what}.batch_count", lo=0),
        batches_root=as_bytes(items[7], f"{what}.batches_root", size=32),
    )


def decode_signatures(data: bytes, what: str) -> tuple[tuple[str, bytes], ...]:
    out = []
    for i, pair in enumerate(as_list(codec.decode(data, what), what)):
        member, sig = as_list(pair, f"{what}[{i}]", length=2)
        out.append((as_str(member, f"{what}[{i}][0]", max_len=64), as_bytes(sig, f"{what}[{i}][1]")))
    return tuple(out)
