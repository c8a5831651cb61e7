"""This machine's own reference figures, measured in the same run as a benchmark.

Benchmarks on a shared machine are noisy; printing the figures the data path is bounded by
(Ed25519 verifications per second on one core, the cost of one fsync in the directory the
ledger writes to) beside each result lets results from different runs and machines be
compared as ratios.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from carbonlab.node.crypto import Signer, verify


def ed25519_verifies_per_s(seconds: float = 1.0) -> float:
    """Signature verifications per second on this core, through `node.crypto.verify` (libsodium,
    as the node verifies)."""
    signer = Signer.generate()
    message = b"carbonlab bench: verify rate" * 4
    sig = signer.sign(message)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            verify(signer.public_key, sig, message)
        count += 200
    return count / elapsed


def ed25519_openssl_verifies_per_s(seconds: float = 0.5) -> float:
    """The same through `cryptography`'s OpenSSL binding, which the node used before libsodium:
    the before-figure of that change, measured beside it (`node.crypto` says why)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = b"carbonlab bench: verify rate" * 4
    sig = key.sign(message)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            public.verify(sig, message)
        count += 200
    return count / elapsed


def fsync_ms(directory: Path, count: int = 40) -> float:
    """Median milliseconds of writing 4 KiB and fsyncing it, in `directory` (the ledger's disk)."""
    path = Path(directory) / ".carbonlab-fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = b"\0" * 4096
        times = []
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            times.append(time.perf_counter() - started)
        return 1000 * statistics.median(times)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Reference:
    ed25519_verifies_per_s: float
    fsync_ms: float
    ed25519_openssl_verifies_per_s: float | None = None

    @classmethod
    def measure(cls, directory: Path) -> Reference:
        return cls(ed25519_verifies_per_s(), fsync_ms(directory), ed25519_openssl_verifies_per_s())

    def line(self) -> str:
        openssl = "" if self.ed25519_openssl_verifies_per_s is None else \
            f"; {self.ed25519_openssl_verifies_per_s:,.0f} through OpenSSL (cryptography)"
        return (f"this machine, same run: Ed25519 {self.ed25519_verifies_per_s:,.0f} verifies/s "
                f"(one core, libsodium{openssl}), fsync {self.fsync_ms:.2f} ms")
