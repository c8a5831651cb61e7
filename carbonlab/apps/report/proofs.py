"""The bundle's proofs of the readings a report sums: per block, one multi-proof.

Format (`proofs.json`, `carbonlab-report-proofs/1`):

    {"format", "chain_id", "genesis_hash",
     "blocks": [{"header": {...}, "certificate": {...},          # as `ledger` renders them
                 "batches": [{"index": i, "path": [hex],          # Merkle path to batches_root
                              "gateway_id", "batch_seq", "signature": hex,
                              "readings": [hex],                  # every reading's wire bytes
                              "leaf_hashes": [hex],               # the batch tree's leaves
                              "used": [idx]}]}]}                  # the readings the report sums

A batch is carried whole because the block's Merkle leaves are whole batches; its bytes are
re-encoded from these fields. The leaf hashes let the verifier name a changed reading: they
must hash to the gateway-signed `readings_root`, and each reading must hash to its leaf.

`collect` reads them from a ledger file; `check` (in `verify.py`) needs genesis alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from carbonlab.node import codec, merkle
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.render import certificate_json, header_json
from carbonlab.node.ledger.store import Ledger
from carbonlab.node.model import MAX_BATCH_BYTES

FORMAT = "carbonlab-report-proofs/1"


def batch_entry(requests: list[bytes] | tuple[bytes, ...], index: int, used: list[int]) -> dict[str, Any]:
    """One batch's entry, from its request bytes: each reading's canonical bytes are its wire
    item re-encoded (what `Reading.encode` gives), without building the readings."""
    _, gateway_id, batch_seq, items, signature = codec.decode(
        requests[index], "batch", max_bytes=MAX_BATCH_BYTES)
    leaves = [codec.encode(item) for item in items]
    return {"index": index, "path": [h.hex() for h in merkle.proof(requests, index)],
            "gateway_id": gateway_id, "batch_seq": batch_seq,
            "signature": signature.hex(), "readings": [x.hex() for x in leaves],
            "leaf_hashes": [merkle.leaf_hash(x).hex() for x in leaves], "used": used}


def collect(ledger: Ledger, genesis: Genesis, meters: Iterable[str],
            since: int, until: int, upto: int) -> dict[str, Any]:
    """The meters' readings in [since, until) of blocks up to height `upto` (the height the
    report's figures are as of), with their proofs, read through the ledger's typed reads."""
    used = ledger.reading_positions(list(meters), since, until, upto)
    blocks = []
    heights = sorted(used)
    for lo in range(0, len(heights), 64):
        chunk = heights[lo:lo + 64]
        for block in ledger.blocks(chunk[0], chunk[-1]):
            if block.header.height not in used:
                continue
            requests = block.proposal.requests
            batches = []
            batches = [batch_entry(requests, index, idxs)
                       for index, idxs in sorted(used[block.header.height].items())]
            blocks.append({"header": header_json(block.header),
                           "certificate": certificate_json(block.certificate), "batches": batches})
    return {"format": FORMAT, "chain_id": genesis.chain_id, "genesis_hash": genesis.hash.hex(),
            "blocks": blocks}
