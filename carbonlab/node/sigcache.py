"""Ed25519 signatures a party has already verified, so it verifies each one once.

A node checks a gateway's batch signature when the batch reaches its API (the contract's
stateless pre-check) and again when the block holding it commits; `ledger verify` and a
restarted node may meet the same batch twice too. Whether a signature verifies depends only
on the key, the signature and the signed bytes, so remembering the ones that did (keyed by
key, signature and the SHA-256 of the bytes; never the failures) changes no verdict. Bounded
(oldest forgotten first) and safe to share between the API's thread and the ledger's.
"""

from __future__ import annotations

import hashlib
import threading

from carbonlab.node.crypto import verify


class VerifiedSignatures:
    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = capacity
        self._ok: dict[bytes, None] = {}
        self._lock = threading.Lock()
        self.verified = 0   # signatures really verified
        self.hits = 0       # answered from memory

    def verify(self, public_key: bytes, signature: bytes, data: bytes) -> bool:
        """`crypto.verify`, remembered."""
        token = public_key + signature + hashlib.sha256(data).digest()
        if token in self._ok:
            self.hits += 1
            return True
        self.verified += 1
        if not verify(public_key, signature, data):
            return False
        with self._lock:
            self._ok[token] = None
            if len(self._ok) > self.capacity:
                del self._ok[next(iter(self._ok))]
        return True
