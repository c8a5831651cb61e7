"""The gateway's one SQLite file: samples in progress, closed intervals, counters, outbox, dead letters.

Theory of operation. Everything the gateway must not lose lives in one database
(WAL, synchronous=FULL) so that one transaction can move data from one stage to the
next: samples of an interval become an interval row, the interval row gets its
reading seq, the readings become a signed batch in the outbox and the counters
advance, all in a single commit. A SIGKILL lands either before that commit (nothing
happened; the same inputs are processed again after restart, and Ed25519 signing
is deterministic, so even the batch bytes are the same) or after it (everything
happened). Nothing is uploaded that is not committed to this file first.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from carbonlab.gateway.errors import GatewayError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meters (
    meter_id TEXT PRIMARY KEY,
    closed_until INTEGER NOT NULL,     -- end of the last closed interval (unix s)
    last_seq INTEGER NOT NULL,         -- last reading seq given to this meter
    qa_count INTEGER NOT NULL          -- valid (quality-assured) intervals ever closed
);
CREATE TABLE IF NOT EXISTS samples (
    meter_id TEXT NOT NULL, t REAL NOT NULL, status TEXT NOT NULL,
    co2_pct REAL, o2_pct REAL, h2o_pct REAL, flow_m3_s REAL, temp_c REAL, pressure_kpa REAL,
    ch4 REAL, n2o REAL, gross_mw REAL, heat_input_mw REAL
);
CREATE INDEX IF NOT EXISTS samples_meter_t ON samples (meter_id, t);
CREATE TABLE IF NOT EXISTS intervals (
    meter_id TEXT NOT NULL, interval_start INTEGER NOT NULL, interval_s INTEGER NOT NULL,
    valid INTEGER NOT NULL, flag TEXT NOT NULL, valid_samples INTEGER NOT NULL,
    co2_pct REAL, o2_pct REAL, h2o_pct REAL, flow_m3_s REAL, temp_c REAL, pressure_kpa REAL,
    seq INTEGER, batch_seq INTEGER, substituted INTEGER NOT NULL DEFAULT 0, tiers TEXT,
    ch4 REAL, n2o REAL, gross_mw REAL, heat_input_mw REAL,
    PRIMARY KEY (meter_id, interval_start)
);
CREATE INDEX IF NOT EXISTS intervals_pending ON intervals (meter_id, seq);
CREATE TABLE IF NOT EXISTS outbox (
    batch_seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, n_readings INTEGER NOT NULL,
    body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead_letter (
    batch_seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, failed_at REAL NOT NULL,
    n_readings INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS committed (
    batch_seq INTEGER PRIMARY KEY, height INTEGER, n_readings INTEGER NOT NULL, at REAL NOT NULL
);
"""
# columns added after the first gateway stores were written: ALTER TABLE on open (NULL in old rows)
ADDED_COLUMNS = {"samples": ("ch4", "n2o", "gross_mw", "heat_input_mw"),
                 "intervals": ("ch4", "n2o", "gross_mw", "heat_input_mw")}


class StoreError(GatewayError, OSError):
    """The gateway database cannot be opened or written (disk full, permissions, corruption)."""


class Store:
    """One connection, used by one thread at a time (callers serialise through `lock`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                      timeout=10.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            for table, names in ADDED_COLUMNS.items():
                have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for name in names:
                    if name not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} REAL")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open gateway database ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def meta(self, key: str, default: int) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else default

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: int) -> None:
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def close(self) -> None:
        with self.lock:
            self.db.close()
