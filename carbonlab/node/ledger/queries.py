"""Read-only queries behind the HTTP API: readings, emissions, batch status, rejections.

Every query joins the genesis meters for company, plant, unit and stack: the
connection's own `temp.genesis_meters`, filled from the genesis in hand when the ledger
is opened, never the file's `meters` table (an edit of the file must not move a meter to
another company in what the node serves). Queries page with a stable order and validate
their arguments (a bad argument raises `LedgerError` naming it, which the API turns into
a 400).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from carbonlab.checks import shown
from carbonlab.node.decision import Decision, DecisionStatus, batch_digest
from carbonlab.node.ledger import typedsql
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.rejection import Rejection
from carbonlab.node.ledger.rows import stored_field
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.tables import READING_COLUMNS
from carbonlab.node.ledger.typedsql import meters_in

MAX_LIMIT = 10_000
GROUPS: dict[str, tuple[str, ...]] = {
    "company": ("company",),
    "plant": ("company", "plant"),
    "unit": ("company", "plant", "unit"),
    "stack": ("company", "plant", "stack"),
    "meter": ("company", "plant", "unit", "stack", "meter_id"),
}


def _page(limit: int, offset: int) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise LedgerError(f"limit: {shown(limit)} is not an integer in 1..{MAX_LIMIT}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise LedgerError(f"offset: {shown(offset)} is not a non-negative integer", field="offset")
    return limit, offset


def _time_filter(since: int | None, until: int | None, where: list[str], args: list[Any],
                 column: str = "r.interval_start") -> None:
    for name, value, op in (("since", since, ">="), ("until", until, "<")):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not -2**63 <= value < 2**63:
            raise LedgerError(f"{name}: {shown(value)} is not a unix time in seconds", field=name)
        where.append(f"{column} {op} ?")
        args.append(value)


def batch_status(db: sqlite3.Connection, gateway_id: str, batch_seq: int,
                 request: bytes | None = None) -> Decision | None:
    """Committed if any copy was accepted (with the SHA-256 `digest` of the committed bytes, so
    a caller can tell its own batch from a different one under the same key); else the latest
    rejection (of these exact bytes, when `request` is given, so a forged batch under someone's
    key does not shadow theirs); None when the ledger holds neither."""
    rows = db.execute("SELECT height, accepted, reason, detail, request, field FROM batches "
                      "WHERE gateway_id = ? AND batch_seq = ? ORDER BY height, idx",
                      (gateway_id, batch_seq)).fetchall()
    for height, accepted, _, _, committed, _ in rows:
        if accepted:
            return Decision(DecisionStatus.COMMITTED, height, digest=batch_digest(bytes(committed)))
    rejected = [r for r in rows if request is None or bytes(r[4]) == request]
    if not rejected:
        return None
    height, _, reason, detail, _, field = rejected[-1]
    return Decision.rejected(reason, stored_field(field, detail), detail, height)


def readings(db: sqlite3.Connection, *, meter: str | None = None, plant: str | None = None,
             unit: str | None = None, company: str | None = None, since: int | None = None,
             until: int | None = None, max_height: int | None = None, limit: int = 100,
             offset: int = 0) -> list[dict[str, Any]]:
    """Accepted readings with their place on the chain, oldest interval first; with
    `max_height`, those of blocks up to it only (pages that later blocks cannot shift: a late
    reading of an old interval would otherwise move every page after it by one)."""
    limit, offset = _page(limit, offset)
    where: list[str] = []
    args: list[Any] = []
    if max_height is not None:
        where.append("r.height <= ?")
        args.append(max_height)
    for column, value in (("r.meter_id", meter), ("m.plant", plant), ("m.unit", unit),
                          ("m.company", company)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    _time_filter(since, until, where, args)
    _no_hidden(db, since, until, max_height)
    sql = (f"SELECT {', '.join('r.' + c for c in READING_COLUMNS)}, m.company, m.plant, m.unit, "
           f"m.stack, {typedsql.wrong('readings', READING_COLUMNS, 'r.')} FROM readings r "
           "JOIN temp.genesis_meters m ON m.meter_id = r.meter_id "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} "
           "ORDER BY r.interval_start, r.meter_id, r.seq LIMIT ? OFFSET ?")
    out = []
    for *row, bad in db.execute(sql, [*args, limit, offset]):
        if bad:      # named by the typed reader
            typedsql.name_wrong(db, "readings", READING_COLUMNS, "meter_id = ? AND seq = ?", row[:2])
        item = dict(zip((*READING_COLUMNS, "company", "plant", "unit", "stack"), row, strict=True))
        item["substituted"] = bool(item["substituted"])
        item["anomalies"] = item["anomalies"].split(",") if item["anomalies"] else []
        out.append(item)
    return out


def _no_hidden(db: sqlite3.Connection, since: int | None, until: int | None,
               max_height: int | None = None) -> None:
    """Text in a readings column a range filter is on would drop its row from the answer
    unsaid: looked for through the column's index (`typedsql.hidden`)."""
    if since is not None or until is not None:
        typedsql.hidden(db, "readings", "interval_start")
    if max_height is not None:
        typedsql.hidden(db, "readings", "height")


def emissions(db: sqlite3.Connection, *, group_by: str, since: int | None = None,
              until: int | None = None) -> list[dict[str, Any]]:
    """CO2 mass summed per group over intervals starting in [since, until)."""
    keys = GROUPS.get(group_by)
    if keys is None:
        raise LedgerError(f"group_by: {shown(group_by)} is not one of {', '.join(GROUPS)}", field="group_by")
    where: list[str] = []
    args: list[Any] = []
    _time_filter(since, until, where, args)
    _no_hidden(db, since, until)
    cols = ", ".join(f"m.{k}" for k in keys)
    read = ("interval_start", "interval_s", "co2_kg", "anomalies")
    sql = (f"SELECT {cols}, SUM(r.co2_kg), COUNT(*), MIN(r.interval_start), "
           "MAX(r.interval_start + r.interval_s), SUM(r.anomalies != ''), "
           f"SUM({typedsql.wrong('readings', read, 'r.')}) "
           "FROM readings r JOIN temp.genesis_meters m ON m.meter_id = r.meter_id "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} GROUP BY {cols} ORDER BY {cols}")
    rows = db.execute(sql, args).fetchall()
    if any(row[-1] for row in rows):
        plain: list[str] = []
        _time_filter(since, until, plain, [], "interval_start")
        typedsql.name_wrong(db, "readings", read, " AND ".join(plain), args)
    names = tuple("meter" if k == "meter_id" else k for k in keys)
    return [dict(zip((*names, "co2_kg", "readings", "since", "until", "anomalous_readings"),
                     row[:-1], strict=True))
            for row in rows]


def rejections(db: sqlite3.Connection, *, gateway: str | None = None, limit: int = 100,
               offset: int = 0) -> list[Rejection]:
    """Rejected requests with their reason, newest first."""
    limit, offset = _page(limit, offset)
    where = "b.accepted = 0" + (" AND b.gateway_id = ?" if gateway is not None else "")
    args: list[Any] = [gateway] if gateway is not None else []
    sql = ("SELECT b.height, b.idx, b.gateway_id, b.batch_seq, b.reason, b.detail, bl.timestamp_ms, "
           f"b.field FROM batches b JOIN blocks bl ON bl.height = b.height WHERE {where} "
           "ORDER BY b.height DESC, b.idx DESC LIMIT ? OFFSET ?")
    return [Rejection(height, idx, gateway_id, seq, reason, detail, timestamp_ms, stored_field(field, detail))
            for height, idx, gateway_id, seq, reason, detail, timestamp_ms, field
            in db.execute(sql, [*args, limit, offset])]


def reading_positions(db: sqlite3.Connection, meters: Sequence[str], since: int, until: int,
                      upto: int) -> dict[int, dict[int, list[int]]]:
    """height -> batch index -> reading indices of the meters' readings in [since, until) in
    blocks up to height `upto` (what a report proves), read typed (`stored.select`; text in
    `interval_start` or `height`, which the range would leave out, is looked for first)."""
    typedsql.hidden(db, "readings", "interval_start", meters_in(meters), meters)
    typedsql.hidden(db, "readings", "height")
    out: dict[int, dict[int, list[int]]] = {}
    for height, batch_idx, idx, _ in select(
            db, "readings", ("height", "batch_idx", "idx", "interval_start"),
            f"{meters_in(meters)} AND interval_start >= ? AND interval_start < ? AND height <= ?",
            (*meters, since, until, upto), order="height, batch_idx, idx"):
        out.setdefault(height, {}).setdefault(batch_idx, []).append(idx)
    return out
