"""JSON forms of blocks and certificates, for the HTTP API, the CLI, proofs and signed heads.

These are the ONE form of each: the API's `/v1/blocks`, `carbonlab ledger block`, a
reading proof and a signed head all write a header and a certificate through here.

`header_from_json` and `certificate_from_json` are the one parser of those forms: they
raise `SchemaError` naming the field (under `path`) and never check signatures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.node.allowances.jsonform import record_json
from carbonlab.node.allowances.records import SignedRecord, is_record
from carbonlab.node.block import HASH_BYTES, BlockHeader, CommitCertificate
from carbonlab.node.crypto import SIGNATURE_BYTES
from carbonlab.node.errors import SchemaError
from carbonlab.node.model import Batch
from carbonlab.node.schema import as_dict, as_hex, as_int, as_list, as_str

if TYPE_CHECKING:
    from carbonlab.node.ledger.store import CommittedBlock


def header_json(header: BlockHeader) -> dict[str, Any]:
    return {"chain_id": header.chain_id, "height": header.height, "prev_hash": header.prev_hash.hex(),
            "proposal_digest": header.proposal_digest.hex(), "timestamp_ms": header.timestamp_ms,
            "proposer": header.proposer, "batch_count": header.batch_count,
            "batches_root": header.batches_root.hex()}


def certificate_json(cert: CommitCertificate) -> dict[str, Any]:
    return {"view": cert.view, "seq": cert.seq, "digest": cert.digest.hex(),
            "signatures": [[m, s.hex()] for m, s in cert.signatures]}


U64_MAX = 2**64 - 1     # the largest integer the canonical (msgpack) encoding holds


def header_from_json(value: Any, path: str) -> BlockHeader:
    h = as_dict(value, path)
    return BlockHeader(
        as_str(h.get("chain_id"), f"{path}.chain_id", max_len=64),
        as_int(h.get("height"), f"{path}.height", lo=1, hi=U64_MAX),
        as_hex(h.get("prev_hash"), f"{path}.prev_hash", size=HASH_BYTES),
        as_hex(h.get("proposal_digest"), f"{path}.proposal_digest", size=HASH_BYTES),
        as_int(h.get("timestamp_ms"), f"{path}.timestamp_ms", lo=0, hi=U64_MAX),
        as_str(h.get("proposer"), f"{path}.proposer", max_len=64),
        as_int(h.get("batch_count"), f"{path}.batch_count", lo=1, hi=U64_MAX),
        as_hex(h.get("batches_root"), f"{path}.batches_root", size=HASH_BYTES))


def certificate_from_json(value: Any, path: str) -> CommitCertificate:
    c = as_dict(value, path)
    signatures = []
    for i, pair in enumerate(as_list(c.get("signatures"), f"{path}.signatures", max_len=1000)):
        member, sig = as_list(pair, f"{path}.signatures[{i}]", length=2)
        signatures.append((as_str(member, f"{path}.signatures[{i}][0]", max_len=64),
                           as_hex(sig, f"{path}.signatures[{i}][1]", size=SIGNATURE_BYTES)))
    return CommitCertificate(
        as_int(c.get("view"), f"{path}.view", lo=0, hi=U64_MAX),
        as_int(c.get("seq"), f"{path}.seq", lo=0, hi=U64_MAX),
        as_hex(c.get("digest"), f"{path}.digest", size=HASH_BYTES),
        tuple(signatures))


def block_json(block: CommittedBlock, *, with_requests: bool = False,
               with_batches: bool = False) -> dict[str, Any]:
    """The block with its verdicts; `with_requests` adds each request's bytes as hex,
    `with_batches` each decoded batch (null, with the bytes as hex, if it does not decode; an
    allowance record request also as `record`, its JSON form)."""
    batches = []
    for request, verdict in zip(block.proposal.requests, block.verdicts, strict=True):
        item = verdict.to_json()
        item["bytes"] = len(request)
        if with_requests:
            item["request"] = request.hex()
        if with_batches:
            try:
                item["batch"] = Batch.decode(request).to_json()
            except SchemaError:
                item["batch"] = None
                item["request"] = request.hex()
                if is_record(request):     # an allowance record (docs/allowances.md)
                    try:
                        item["record"] = record_json(SignedRecord.decode(request))
                    except SchemaError:
                        item["record"] = None
        batches.append(item)
    return {"height": block.header.height, "hash": block.header.hash.hex(),
            "header": header_json(block.header), "certificate": certificate_json(block.certificate),
            "batches": batches}
