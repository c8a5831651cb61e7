"""Merkle proofs that one reading is on a certified block, checkable with genesis alone.

Theory of operation. A proof chains three links, each checkable by anyone who holds
genesis:

1. reading -> batch: the reading's canonical bytes, its index and Merkle path up to
   the batch's `readings_root`, and the batch header (`Batch.header()`) with the
   gateway's signature over it. The gateway's genesis key proves the gateway sent it.
2. batch -> block: the block's Merkle leaves are the raw request bytes the proposal
   carried, so the proof carries the whole batch (its bytes re-encode the header of
   link 1) and its Merkle path up to the header's `batches_root`.
3. block -> consortium: the block header (whose fields reproduce the proposal digest)
   and the commit certificate, 2f + 1 genesis members' signatures over that digest.

The checker also re-runs the contract's stateless checks on the reading (meter
assigned to the gateway, ranges, recomputed CO2 mass). Replay freedom depends on the
whole chain before the block and is what `carbonlab ledger verify` checks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from carbonlab.node import codec, merkle
from carbonlab.node.contract import reading_problem
from carbonlab.node.crypto import verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.render import (
    certificate_from_json,
    certificate_json,
    header_from_json,
    header_json,
)
from carbonlab.node.ledger.stored import select
from carbonlab.node.model import MAX_BATCH_BYTES, Batch, Reading
from carbonlab.node.schema import as_dict, as_hex, as_int, as_list, as_str

if TYPE_CHECKING:
    from carbonlab.node.ledger.store import CommittedBlock, Ledger

FORMAT = "carbonlab-reading-proof/1"


class ProofError(LedgerError):
    """Raised by `check_proof` when a proof is malformed or does not prove its reading;
    the message says which link failed. The proof's (or its producer's) fault."""


@dataclass
class ProofCache:
    """Blocks and decoded batches kept between `build_proof` calls that prove many readings of
    the same blocks (a query's rows): each block is read and each batch decoded once."""

    blocks: dict[int, CommittedBlock | None] = field(default_factory=dict)
    batches: dict[tuple[int, int], tuple[Batch, list[bytes]]] = field(default_factory=dict)


def build_proof(ledger: Ledger, db: sqlite3.Connection, meter_id: str,
                seq: int, cache: ProofCache | None = None) -> dict[str, Any] | None:
    rows = select(db, "readings", ("height", "batch_idx", "idx"), "meter_id = ? AND seq = ?",
                  (meter_id, seq))
    if not rows:
        return None
    height, batch_idx, idx = rows[0]
    cache = cache or ProofCache()
    if height not in cache.blocks:
        cache.blocks[height] = ledger.block(height)
    block = cache.blocks[height]
    if block is None:
        return None
    request = block.proposal.requests[batch_idx]
    if (height, batch_idx) not in cache.batches:
        decoded = Batch.decode(request)
        cache.batches[(height, batch_idx)] = (decoded, [r.encode() for r in decoded.readings])
    batch, leaves = cache.batches[(height, batch_idx)]
    return {
        "format": FORMAT,
        "chain_id": ledger.genesis.chain_id,
        "genesis_hash": ledger.genesis.hash.hex(),
        "reading": batch.readings[idx].to_json(),
        "reading_index": idx,
        "readings_path": [h.hex() for h in merkle.proof(leaves, idx)],
        "batch_header": {"gateway_id": batch.gateway_id, "batch_seq": batch.batch_seq,
                         "reading_count": len(batch.readings),
                         "readings_root": merkle.root(leaves).hex()},
        "gateway_signature": batch.signature.hex(),
        "batch": request.hex(),
        "batch_index": batch_idx,
        "batches_path": [h.hex() for h in merkle.proof(block.proposal.requests, batch_idx)],
        "block": header_json(block.header),
        "block_hash": block.header.hash.hex(),
        "certificate": certificate_json(block.certificate),
        "anomalies": [a.value for i, a in block.verdicts[batch_idx].anomalies if i == idx],
    }


def check_proof(genesis: Genesis, proof: Any) -> Reading:
    """Check a proof with no node's help; return the proven reading or raise ProofError."""
    try:
        return _check(genesis, proof)
    except SchemaError as exc:
        raise ProofError(f"proof is malformed: {exc}") from None


def _paths(value: Any, field: str) -> list[bytes]:
    return [as_hex(h, f"{field}[{i}]", size=32) for i, h in enumerate(as_list(value, field))]


def _check(genesis: Genesis, proof: Any) -> Reading:
    p = as_dict(proof, "proof")
    if p.get("format") != FORMAT:
        raise ProofError(f"proof.format: expected {FORMAT!r}, got {p.get('format')!r}")
    if as_str(p.get("chain_id"), "proof.chain_id") != genesis.chain_id:
        raise ProofError(f"proof is for chain {p['chain_id']!r}, not {genesis.chain_id!r}")
    if as_hex(p.get("genesis_hash"), "proof.genesis_hash", size=32) != genesis.hash:
        raise ProofError("proof.genesis_hash: the proof was made under another genesis")
    reading = Reading.from_json(p.get("reading"), "proof.reading")
    bh = as_dict(p.get("batch_header"), "proof.batch_header",
                 required=("gateway_id", "batch_seq", "reading_count", "readings_root"))
    gateway_id = as_str(bh["gateway_id"], "proof.batch_header.gateway_id")
    count = as_int(bh["reading_count"], "proof.batch_header.reading_count", lo=1)
    readings_root = as_hex(bh["readings_root"], "proof.batch_header.readings_root", size=32)
    header = ["carbonlab/batch/1", genesis.chain_id, gateway_id,
              as_int(bh["batch_seq"], "proof.batch_header.batch_seq", lo=0), count, readings_root]
    # Link 1: reading -> batch header, signed by the gateway.
    index = as_int(p.get("reading_index"), "proof.reading_index", lo=0)
    if not merkle.verify(reading.encode(), index, count, _paths(p.get("readings_path"),
                                                                "proof.readings_path"), readings_root):
        raise ProofError(f"reading {reading.meter_id}/{reading.seq} is not leaf {index} "
                         "under the batch's readings_root")
    gateway = genesis.gateway_by_id.get(gateway_id)
    if gateway is None:
        raise ProofError(f"gateway {gateway_id!r} is not in genesis")
    signature = as_hex(p.get("gateway_signature"), "proof.gateway_signature", size=64)
    if not verify(gateway.public_key, signature, codec.encode(header)):
        raise ProofError(f"the gateway signature does not verify under {gateway_id!r}'s genesis key")
    # Link 2: batch bytes -> block batches_root.
    # a whole batch: up to MAX_BATCH_BYTES (a batch of 1,000 readings is about 130 kB)
    raw = as_hex(p.get("batch"), "proof.batch", max_len=2 * MAX_BATCH_BYTES)
    batch = Batch.decode(raw)
    if batch.header() != header or batch.signature != signature:
        raise ProofError("proof.batch: its bytes do not carry the signed batch header")
    block = header_from_json(p.get("block"), "proof.block")
    batch_index = as_int(p.get("batch_index"), "proof.batch_index", lo=0)
    if not merkle.verify(raw, batch_index, block.batch_count,
                         _paths(p.get("batches_path"), "proof.batches_path"), block.batches_root):
        raise ProofError(f"the batch is not request {batch_index} under block {block.height}'s "
                         "batches_root")
    # Link 3: block header -> certificate of 2f + 1 members.
    if block.chain_id != genesis.chain_id or not block.proposal_digest_matches():
        raise ProofError(f"block {block.height}: header fields do not reproduce its proposal_digest")
    cert = certificate_from_json(p.get("certificate"), "proof.certificate")
    wrong = cert.mismatch(block.height, block.proposal_digest, f"block {block.height}'s")
    if wrong is not None:
        raise ProofError(wrong)
    problem = cert.check(genesis.chain_id, genesis.member_keys, genesis.quorum)
    if problem is not None:
        raise ProofError(f"block {block.height} certificate: {problem}")
    found = reading_problem(genesis, gateway_id, reading)
    if found is not None:
        raise ProofError(f"the reading fails the contract ({found[0].value}): {found[1]}")
    return reading
