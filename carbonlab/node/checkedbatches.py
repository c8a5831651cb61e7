"""Requests this party already decoded and found to pass every stateless check, so the block
that commits them does not decode and check them a second time.

A node's API pre-check runs the contract on each batch it receives (`NodeService.precheck`);
the block that later holds those very bytes runs it again, as every member's must. What the
second run can take from the first is exactly what depends on the bytes and genesis alone: the
decoded `Batch` and the stateless checks (chain, gateway, signature, and each reading's ranges,
assignment, alignment, CO2 basis and method, recomputed mass, channels). The checks that read
the ledger's state (replayed batch or reading, overlapping interval, the anomaly baselines)
always run. Keyed by genesis hash and the SHA-256 of the request bytes, remembered only when a
whole batch was accepted by the pre-check, so a remembered batch is one for which every
stateless check passed and no verdict can differ. The block's execution takes a batch out (it
is executed once; the same bytes again are a replay, checked in full). Bounded by readings held
(a decoded 20-reading batch is about 13 kB), oldest forgotten first; safe to share between the
API's thread and the ledger's.

Only the member whose API received a batch has it here: the other members meet it first in the
block and decode and check it there in full (`docs/performance.md`, "Ledger commit").
"""

from __future__ import annotations

import hashlib
import threading

from carbonlab.node.model import Batch

DEFAULT_CAPACITY_READINGS = 50_000   # about 33 MB of 20-reading batches; 8 s at 6,000 readings/s


class CheckedBatches:
    def __init__(self, capacity_readings: int = DEFAULT_CAPACITY_READINGS) -> None:
        self.capacity_readings = capacity_readings
        self._held: dict[bytes, Batch] = {}
        self._readings = 0
        self._lock = threading.Lock()
        self.hits = 0

    @staticmethod
    def key(genesis_hash: bytes, request: bytes) -> bytes:
        return genesis_hash + hashlib.sha256(request).digest()

    def get(self, key: bytes) -> Batch | None:
        batch = self._held.get(key)
        if batch is not None:
            self.hits += 1
        return batch

    def take(self, key: bytes) -> Batch | None:
        """The batch under `key`, forgotten here: the block executing it needs it once."""
        with self._lock:
            batch = self._held.pop(key, None)
            if batch is None:
                return None
            self._readings -= len(batch.readings)
        self.hits += 1
        return batch

    def remember(self, key: bytes, batch: Batch) -> None:
        """`batch` was decoded from the request under `key` and passed every stateless check."""
        with self._lock:
            if key in self._held:
                return
            self._held[key] = batch
            self._readings += len(batch.readings)
            while self._readings > self.capacity_readings and self._held:
                oldest = next(iter(self._held))
                self._readings -= len(self._held.pop(oldest).readings)

    def __len__(self) -> int:
        return len(self._held)
