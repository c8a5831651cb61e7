"""Offline checks of the ledger's tables that are copies of genesis: `meta` and `meters`.

Queries and the CLI read these (company, plant, unit and stack of a meter; the ledger's
own copy of genesis), so `ledger verify` compares every row with the genesis the caller
trusts instead of believing the file. Problems are at height 0, the genesis record.
"""

from __future__ import annotations

import json
import sqlite3

from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.rows import table_problems

METER_COLUMNS = ("company", "plant", "unit", "stack")


def genesis_table_problems(db: sqlite3.Connection, genesis: Genesis) -> list[str]:
    return [*_meta_problems(db, genesis), *_meter_problems(db, genesis)]


def _meta_problems(db: sqlite3.Connection, genesis: Genesis) -> list[str]:
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    out = []
    chain = meta.get("chain_id")
    if chain != genesis.chain_id.encode():
        out.append(f"meta chain_id {_text(chain)!r} is not genesis's {genesis.chain_id!r}")
    try:
        copy = Genesis.from_json(json.loads(meta["genesis_json"]))
    except (KeyError, ValueError, SchemaError) as exc:
        out.append(f"the ledger's copy of genesis (meta genesis_json) is unreadable ({exc})")
    else:
        if copy.hash != genesis.hash:
            out.append("the ledger's copy of genesis (meta genesis_json) differs from the genesis given")
    return out


def _meter_problems(db: sqlite3.Connection, genesis: Genesis) -> list[str]:
    stored = {row[0]: tuple(row[1:]) for row in db.execute(
        f"SELECT meter_id, {', '.join(METER_COLUMNS)} FROM meters ORDER BY meter_id")}
    want = {m.id: (m.company, m.plant, m.unit, m.stack) for m in genesis.meters}
    return table_problems(
        stored, want, METER_COLUMNS, "genesis",
        missing=lambda m: f"meter {m!r} is in genesis but missing from the meters table",
        extra=lambda m: f"the meters table has meter {m!r}, which genesis does not name",
        differs=lambda m: f"meter {m!r} in the meters table differs from genesis")


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
