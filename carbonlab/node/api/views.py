"""JSON shapes of blocks and certificates for the API (readable, hex for bytes)."""

from __future__ import annotations

from typing import Any

from carbonlab.node.errors import SchemaError
from carbonlab.node.ledger.store import CommittedBlock
from carbonlab.node.model import Batch


def block_json(block: CommittedBlock, *, full: bool = False) -> dict[str, Any]:
    h = block.header
    cert = block.certificate
    batches = []
    for request, verdict in zip(block.proposal.requests, block.verdicts, strict=True):
        entry: dict[str, Any] = verdict.to_json()
        if full:
            try:
                entry["batch"] = Batch.decode(request).to_json()
            except SchemaError:
                entry["batch"] = None
                entry["raw"] = request.hex()
        batches.append(entry)
    return {
        "height": h.height, "hash": block.hash.hex(), "prev_hash": h.prev_hash.hex(),
        "proposal_digest": h.proposal_digest.hex(), "timestamp_ms": h.timestamp_ms,
        "proposer": h.proposer, "batch_count": h.batch_count, "batches_root": h.batches_root.hex(),
        "certificate": {"view": cert.view, "seq": cert.seq, "digest": cert.digest.hex(),
                        "signatures": [{"member": m, "signature": s.hex()} for m, s in cert.signatures]},
        "batches": batches,
    }
