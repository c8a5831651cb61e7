"""The ledger's SQLite schema.

The certified content is kept exactly as it was certified: each block's header in
its canonical encoding, its commit certificate, and each request (batch) as the raw
bytes the proposal carried, so that verification re-hashes what 2f + 1 members
signed. `readings`, the verdict columns of `batches` and the contract-state tables
are derived from those bytes by the contract; they exist for queries and for a fast
restart, and `carbonlab ledger verify` recomputes and compares them.

Block 0 is the record of the genesis document: its `header` is the canonical encoding
that `Genesis.hash` is the SHA-256 of, its `hash` is that hash, and it has no
certificate. Block 1's `prev_hash` is therefore the genesis hash.
"""

from __future__ import annotations

FORMAT = b"carbonlab-ledger/1"
# the schema's version in `meta` (key `schema`): 2 added `allowance_records`; a file without the
# key is version 1 and is brought to 2 when a writer opens it (sqlite.prepare), readable either way
SCHEMA_VERSION = b"2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    header BLOB NOT NULL,          -- canonical BlockHeader.to_wire() (block 0: the genesis encoding)
    certificate BLOB,              -- canonical CommitCertificate.to_wire(), NULL for block 0
    timestamp_ms INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    batch_count INTEGER NOT NULL,
    reading_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    request BLOB NOT NULL,         -- the raw request bytes as certified
    gateway_id TEXT,               -- NULL when the request did not decode
    batch_seq INTEGER,
    accepted INTEGER NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL,
    anomalies TEXT NOT NULL,       -- JSON [[reading index, mark], ...]
    field TEXT,                    -- the field a rejection names, NULL if accepted or written
                                   -- before the column existed (see sqlite.LEGACY_COLUMNS)
    PRIMARY KEY (height, idx)
);
CREATE INDEX IF NOT EXISTS batches_by_key ON batches (gateway_id, batch_seq);
CREATE INDEX IF NOT EXISTS batches_rejected ON batches (height, idx) WHERE accepted = 0;
CREATE INDEX IF NOT EXISTS batches_rejected_by_gateway ON batches (gateway_id, height, idx)
    WHERE accepted = 0;
CREATE TABLE IF NOT EXISTS readings (
    meter_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    height INTEGER NOT NULL,
    batch_idx INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    interval_start INTEGER NOT NULL,
    interval_s INTEGER NOT NULL,
    co2_pct REAL NOT NULL,
    co2_basis TEXT NOT NULL,
    o2_pct REAL NOT NULL,
    h2o_pct REAL NOT NULL,
    flow_m3_s REAL NOT NULL,
    temp_c REAL NOT NULL,
    pressure_kpa REAL NOT NULL,
    valid_samples INTEGER NOT NULL,
    flag TEXT NOT NULL,
    co2_kg REAL NOT NULL,
    substituted INTEGER NOT NULL,
    anomalies TEXT NOT NULL,       -- comma-separated marks, '' for none
    ch4_kg REAL,                   -- the wire-version-2 channels: NULL where the meter has none,
    n2o_kg REAL,                   -- and in every row of a ledger written before them
    gross_mwh REAL,                -- (sqlite.LEGACY_COLUMNS)
    heat_input_gj REAL,
    PRIMARY KEY (meter_id, seq)
);
CREATE INDEX IF NOT EXISTS readings_by_time ON readings (interval_start);
CREATE INDEX IF NOT EXISTS readings_by_meter_time ON readings (meter_id, interval_start);
CREATE INDEX IF NOT EXISTS readings_by_block ON readings (height, batch_idx, idx);
CREATE TABLE IF NOT EXISTS meters (
    meter_id TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    plant TEXT NOT NULL,
    unit TEXT NOT NULL,
    stack TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_state (
    gateway_id TEXT PRIMARY KEY,
    last_batch_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meter_state (
    meter_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    interval_end INTEGER NOT NULL,
    baseline BLOB                  -- canonical Baseline.to_wire(), NULL before a normal reading
);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    block_hash BLOB NOT NULL,
    signatures BLOB NOT NULL       -- canonical [[member, signature], ...]
);
CREATE TABLE IF NOT EXISTS consensus_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS allowance_records (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,          -- the request's place in its block, as in batches
    record_id TEXT NOT NULL,       -- SHA-256 (hex) of the request bytes
    signer TEXT,                   -- NULL (and the four below) when the bytes did not decode
    seq INTEGER,
    kind TEXT,
    year INTEGER,
    company TEXT,                  -- a transfer's seller
    buyer TEXT,                    -- transfers only
    quantity_t INTEGER,            -- NULL for a statement
    accepted INTEGER NOT NULL,
    reason TEXT,
    field TEXT,
    detail TEXT NOT NULL,
    PRIMARY KEY (height, idx)
);
CREATE INDEX IF NOT EXISTS allowance_records_by_id ON allowance_records (record_id);
CREATE INDEX IF NOT EXISTS allowance_records_by_year ON allowance_records (year, kind);
"""

ALLOWANCE_COLUMNS = ("height", "idx", "record_id", "signer", "seq", "kind", "year", "company", "buyer",
                     "quantity_t", "accepted", "reason", "field", "detail")

READING_COLUMNS = (
    "meter_id", "seq", "height", "batch_idx", "idx", "interval_start", "interval_s", "co2_pct",
    "co2_basis", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa", "valid_samples", "flag",
    "co2_kg", "substituted", "anomalies", "ch4_kg", "n2o_kg", "gross_mwh", "heat_input_gj",
)
