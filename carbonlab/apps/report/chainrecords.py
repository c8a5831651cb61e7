"""The allowance records a report carries when they come from the chain, each with its proof.

Theory of operation. An allowance record (`carbonlab.node.allowances`, issue 14 item 1) is a
request of a block like a gateway's batch: its canonical bytes are one Merkle leaf under the
block header's `batches_root`, and the block's commit certificate (2f + 1 member signatures)
covers the header. So a record is proven the way a batch is: the header, the certificate, the
record's bytes, its leaf index and Merkle path. The record carries its signer's Ed25519
signature, so whoever holds genesis also checks who made it and whether genesis gives that
member the role the kind needs (`recordcheck.py`).

Two files of the bundle hold them:

    records_proofs.json   carbonlab-report-records/1, in the manifest: the company-year's
                          accepted allocations, transfers and surrenders, per block
                          {"header", "certificate", "records": [{"index", "path", "record"}]}
    statement.json        carbonlab-report-statement/1, beside the manifest: the verifier's
                          statement record, committed, with its header, certificate and path
                          (it is made over the manifest's SHA-256, so it cannot be inside it)

`records.json` stays the same JsonRecords file the report's allowance table is summed from;
from the chain it is a function of the proven records (each read as the compliance module's
view of it, `apps/compliance/chainrecords.view_of`), and `verify` rebuilds it from them and
names any difference. The records taken are those the allowance contract
accepted (the ledger's `allowance_records` rows); a bundle cannot show that the contract
accepted a record (that depends on the chain's state), only that the bytes were certified,
signed by their genesis member, and of the role their kind needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carbonlab.apps.compliance.chainrecords import ChainRecords as Views
from carbonlab.apps.compliance.records import AllowanceRecords
from carbonlab.apps.report.model import ReportError
from carbonlab.node import merkle
from carbonlab.node.allowances.answers import RecordEntry
from carbonlab.node.allowances.records import Kind
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.render import certificate_json, header_json
from carbonlab.node.ledger.store import Ledger

FORMAT = "carbonlab-report-records/1"
STATEMENT_FORMAT = "carbonlab-report-statement/1"


@dataclass(frozen=True, slots=True)
class BundleRecords:
    """The company-year's records from the chain: as `AllowanceRecords` (summed by the report),
    the proofs document, and the statement document when the verifier has stated."""

    records: AllowanceRecords
    proofs: dict[str, Any]
    statement: dict[str, Any] | None


# a block by height: its header and certificate as `ledger` renders them, and its requests' bytes
BlockAt = Callable[[int], tuple[dict[str, Any], dict[str, Any], tuple[bytes, ...]]]


def _entry(requests: tuple[bytes, ...], idx: int) -> dict[str, Any]:
    return {"index": idx, "path": [h.hex() for h in merkle.proof(requests, idx)],
            "record": requests[idx].hex()}


def assemble(genesis: Genesis, entries: list[RecordEntry], block_at: BlockAt) -> BundleRecords | None:
    """The accepted ones of the company-year's executed records (`entries`, in chain order)
    with their proofs, or None when none was accepted. A block whose request at the entry's
    index is not the record's bytes is a `ReportError` naming the block (the source is lying)."""
    accepted = [e for e in entries if e.accepted]
    if not accepted:
        return None
    blocks: dict[int, tuple[dict[str, Any], dict[str, Any], tuple[bytes, ...]]] = {}
    for e in accepted:
        if e.height not in blocks:
            blocks[e.height] = block_at(e.height)
        requests = blocks[e.height][2]
        if e.idx >= len(requests) or requests[e.idx] != e.record.encode():
            raise ReportError("--node", f"block {e.height} request {e.idx} is not record "
                                        f"{e.record.record_id}")
    statements = [e for e in accepted if e.record.kind is Kind.STATEMENT]
    listed: dict[int, list[dict[str, Any]]] = {}
    for e in accepted:
        if e.record.kind is not Kind.STATEMENT:
            listed.setdefault(e.height, []).append(_entry(blocks[e.height][2], e.idx))
    proofs = {"format": FORMAT, "chain_id": genesis.chain_id, "genesis_hash": genesis.hash.hex(),
              "blocks": [{"header": blocks[h][0], "certificate": blocks[h][1], "records": listed[h]}
                         for h in sorted(listed)]}
    statement = None
    if statements:                  # the contract accepts one per company-year
        e = statements[0]
        header, certificate, requests = blocks[e.height]
        statement = {"format": STATEMENT_FORMAT, "chain_id": genesis.chain_id, "header": header,
                     "certificate": certificate, **_entry(requests, e.idx)}
    return BundleRecords(Views.from_entries(accepted, "the chain"), proofs, statement)


def from_ledger(ledger: Ledger, genesis: Genesis, company: str, year: int) -> BundleRecords | None:
    def block_at(height: int) -> tuple[dict[str, Any], dict[str, Any], tuple[bytes, ...]]:
        block = next(iter(ledger.blocks(height, height)))
        return header_json(block.header), certificate_json(block.certificate), tuple(block.proposal.requests)

    return assemble(genesis, ledger.allowance_history(company, year), block_at)
