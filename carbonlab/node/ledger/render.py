"""JSON forms of blocks and certificates, for the HTTP API, the CLI and proofs."""

from __future__ import annotations

from typing import Any

from carbonlab.node.block import BlockHeader, CommitCertificate
from carbonlab.node.ledger.store import CommittedBlock


def header_json(header: BlockHeader) -> dict[str, Any]:
    return {"chain_id": header.chain_id, "height": header.height, "prev_hash": header.prev_hash.hex(),
            "proposal_digest": header.proposal_digest.hex(), "timestamp_ms": header.timestamp_ms,
            "proposer": header.proposer, "batch_count": header.batch_count,
            "batches_root": header.batches_root.hex()}


def certificate_json(cert: CommitCertificate) -> dict[str, Any]:
    return {"view": cert.view, "seq": cert.seq, "digest": cert.digest.hex(),
            "signatures": [[m, s.hex()] for m, s in cert.signatures]}


def block_json(block: CommittedBlock, *, with_requests: bool = False) -> dict[str, Any]:
    """The block with its verdicts; `with_requests` adds each request's bytes as hex."""
    batches = []
    for request, verdict in zip(block.proposal.requests, block.verdicts, strict=True):
        item = verdict.to_json()
        item["bytes"] = len(request)
        if with_requests:
            item["request"] = request.hex()
        batches.append(item)
    return {"height": block.header.height, "hash": block.header.hash.hex(),
            "header": header_json(block.header), "certificate": certificate_json(block.certificate),
            "batches": batches}
