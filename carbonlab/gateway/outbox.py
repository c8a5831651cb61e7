"""The durable outbox: signed batches waiting for a node to say "committed".

Batches enter it inside the journal's sealing transaction (see `journal.py`), so a
batch is on disk before any byte of it leaves the gateway. They leave it in batch_seq
order and only two ways: `committed` (a node said so: the row moves to the small
`committed` log) or `dead_letter` (a node decided to reject it: the row moves to the
dead-letter table with the reason, and a warning is logged). Nothing is dropped.

The outbox is bounded by the disk only. `depth` and `oldest_age_s` feed the metrics;
`check_space` warns when the outbox grows past `warn_batches` or the disk holding it
runs low, so an operator sees a long chain outage before the disk fills.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass

from carbonlab.gateway.store import Store
from carbonlab.node.model import Batch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    batch_seq: int
    created_at: float
    n_readings: int
    body: bytes
    attempts: int

    def batch(self) -> Batch:
        return Batch.decode(self.body)


class Outbox:
    def __init__(self, store: Store, *, warn_batches: int = 10_000,
                 min_free_bytes: int = 100 * 1024 * 1024) -> None:
        self.store = store
        self.warn_batches = warn_batches
        self.min_free_bytes = min_free_bytes
        self._warned = False

    def oldest(self) -> OutboxEntry | None:
        with self.store.lock:
            row = self.store.db.execute(
                "SELECT batch_seq, created_at, n_readings, body, attempts FROM outbox "
                "ORDER BY batch_seq LIMIT 1").fetchone()
        return OutboxEntry(*row) if row else None

    def entries(self, limit: int = 100) -> list[OutboxEntry]:
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT batch_seq, created_at, n_readings, body, attempts FROM outbox "
                "ORDER BY batch_seq LIMIT ?", (limit,)).fetchall()
        return [OutboxEntry(*r) for r in rows]

    def attempted(self, batch_seq: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE batch_seq = ?", (batch_seq,))

    def committed(self, batch_seq: int, height: int | None) -> None:
        with self.store.transaction() as db:
            row = db.execute("SELECT n_readings FROM outbox WHERE batch_seq = ?",
                             (batch_seq,)).fetchone()
            if row is None:
                return
            db.execute("INSERT OR REPLACE INTO committed VALUES (?, ?, ?, ?)",
                       (batch_seq, height, row[0], time.time()))
            db.execute("DELETE FROM outbox WHERE batch_seq = ?", (batch_seq,))

    def dead_letter(self, batch_seq: int, reason: str, detail: str) -> None:
        with self.store.transaction() as db:
            row = db.execute("SELECT created_at, n_readings, body FROM outbox WHERE batch_seq = ?",
                             (batch_seq,)).fetchone()
            if row is None:
                return
            db.execute("INSERT OR REPLACE INTO dead_letter VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (batch_seq, row[0], time.time(), row[1], reason, detail, row[2]))
            db.execute("DELETE FROM outbox WHERE batch_seq = ?", (batch_seq,))
        log.warning("batch %d rejected by the chain (%s: %s); %d readings moved to dead_letter",
                    batch_seq, reason, detail, row[1])

    def dead_letters(self, limit: int = 100) -> list[dict[str, object]]:
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT batch_seq, created_at, failed_at, n_readings, reason, detail FROM dead_letter "
                "ORDER BY batch_seq LIMIT ?", (limit,)).fetchall()
        keys = ("batch_seq", "created_at", "failed_at", "n_readings", "reason", "detail")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def depth(self) -> int:
        with self.store.lock:
            return int(self.store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def oldest_age_s(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        with self.store.lock:
            row = self.store.db.execute("SELECT MIN(created_at) FROM outbox").fetchone()
        return max(0.0, now - row[0]) if row and row[0] is not None else 0.0

    def committed_count(self) -> int:
        with self.store.lock:
            return int(self.store.db.execute("SELECT COUNT(*) FROM committed").fetchone()[0])

    def check_space(self) -> bool:
        """False (and one warning per episode) when the outbox is long or the disk is low."""
        depth = self.depth()
        free = shutil.disk_usage(self.store.path.parent).free
        bad = depth >= self.warn_batches or free < self.min_free_bytes
        if bad and not self._warned:
            log.warning("outbox holds %d batches, %d MB free on %s: the chain is not taking "
                        "batches; they are kept and will drain in order",
                        depth, free // (1024 * 1024), self.store.path.parent)
        self._warned = bad
        return not bad
