"""The bundle's allowance records and the verifier's statement checked with genesis alone.

Theory of operation (the bundle's side is `chainrecords.py`). A record from the chain is
proven like a batch: its block header reproduces its proposal digest, the block's commit
certificate holds 2f + 1 valid genesis member signatures (`proofcheck.certified_header`), and
the record's bytes are leaf `index` under the header's `batches_root`. Then the record itself:
it decodes canonically, names this chain, its Ed25519 signature verifies under its signer's
genesis key, genesis gives the signer the role its kind needs (`ROLE_OF` of the allowance
contract: a statement by a `verifier`, an allocation by `emission-management`, ...), a
surrender is signed by the member genesis names for the company, and it is a record of the
report's company and year. Each failure is named with the record (`statement n1/7`).

`records.json` (what the allowance table is summed from) must then be exactly what the proven
records give (`apps/compliance/chainrecords.view_of`); a record added, dropped or changed is named. A
`records.json` with no `records_proofs.json` came from a JSON file: verify says the allowance
figures are unproven (a note, not a failure: they are checked for their field rules and summed).

The statement: a `statement.json` in the signed form (`carbonlab-report-statement/1`) must be
a proven statement record by a verifier member for the report's company and year over this
bundle's manifest SHA-256. One in the old unsigned form (a JSON records file's) is a problem:
nobody's signature stands behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from carbonlab.apps.compliance.chainrecords import ChainRecords as Views
from carbonlab.apps.compliance.chainrecords import view_of
from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.jsonrecords import JsonRecords
from carbonlab.apps.compliance.records import AllowanceRecords
from carbonlab.apps.report import allowances, chainrecords
from carbonlab.apps.report.findings import Kind, Verified
from carbonlab.apps.report.manifestcheck import same_chain
from carbonlab.apps.report.proofcheck import certified_header
from carbonlab.node import merkle
from carbonlab.node.allowances.contract import ROLE_OF, made_by
from carbonlab.node.allowances.records import Kind as RecordKind
from carbonlab.node.allowances.records import SignedRecord, Statement, Surrender, Transfer
from carbonlab.node.block import BlockHeader
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.schema import as_dict, as_hex, as_int, as_list


def _name(r: SignedRecord) -> str:
    return f"{r.kind.value} {r.signer}/{r.seq}"


def proven_record(genesis: Genesis, header: BlockHeader, raw: Any, at: str, company: str, year: int,
                  res: Verified) -> SignedRecord | None:
    """The record of one proof entry when every check passes; else None, the failure named."""
    e = as_dict(raw, at)
    data = as_hex(e.get("record"), f"{at}.record")
    index = as_int(e.get("index"), f"{at}.index", lo=0)
    path = [as_hex(h, f"{at}.path", size=32) for h in as_list(e.get("path"), f"{at}.path")]
    if not merkle.verify(data, index, header.batch_count, path, header.batches_root):
        res.add(Kind.PROOF, at, f"not a request of block {header.height} (Merkle path to batches_root "
                                "fails: the record was changed or never committed)")
        return None
    try:
        record = SignedRecord.decode(data)
    except SchemaError as exc:
        res.add(Kind.PROOF, at, f"a request of block {header.height} that is not an allowance record ({exc})")
        return None
    where = f"{_name(record)} (block {header.height})"
    member = next((m for m in genesis.members if m.id == record.signer), None)
    if record.chain_id != genesis.chain_id or member is None:
        res.add(Kind.SIGNATURE, where, f"signer {record.signer!r} of chain {record.chain_id!r} is not a "
                                       "member of this genesis")
        return None
    if not record.signature_valid(member.public_key):
        res.add(Kind.SIGNATURE, where, f"the signature does not verify under member {record.signer!r}'s "
                                       "genesis key")
        return None
    role = ROLE_OF[record.kind]
    if member.role != role:
        res.add(Kind.SIGNATURE, where, f"{made_by(record.kind)}; {record.signer!r} is {member.role}")
        return None
    body = record.body
    represented = {c.id: c.member for c in genesis.companies}
    if isinstance(body, Surrender) and represented.get(body.company) != record.signer:
        res.add(Kind.SIGNATURE, where, f"{body.company!r} is represented by member "
                                       f"{represented.get(body.company)!r}, not {record.signer!r}")
        return None
    parties = (body.seller, body.buyer) if isinstance(body, Transfer) else (body.company,)
    if body.year != year or company not in parties:
        res.add(Kind.RECORDS, where, f"not a record of {company} {year}")
        return None
    return record


def _proven_records(doc: Any, genesis: Genesis, company: str, year: int, res: Verified) -> list[SignedRecord]:
    d = as_dict(doc, "records_proofs")
    if d.get("format") != chainrecords.FORMAT:
        res.add(Kind.PROOF, "records_proofs.json", f"not a {chainrecords.FORMAT} document")
        return []
    same_chain(d, "records_proofs.json", genesis, res, Kind.PROOF)
    out: list[SignedRecord] = []
    for i, raw in enumerate(as_list(d.get("blocks"), "records_proofs.blocks", max_len=1_000_000)):
        b = as_dict(raw, f"records_proofs.blocks[{i}]")
        header = certified_header(genesis, b, f"records_proofs.blocks[{i}]", res)
        if header is None:
            continue
        for j, entry in enumerate(as_list(b.get("records"), f"block {header.height}.records")):
            record = proven_record(genesis, header, entry, f"block {header.height} record {j}", company,
                                   year, res)
            if record is not None and record.kind is RecordKind.STATEMENT:
                res.add(Kind.RECORDS, _name(record), "a statement travels in statement.json, not among "
                                                     "the records the manifest covers")
            elif record is not None:
                out.append(record)
    return out


def records(out: Path, genesis: Genesis, company: str, year: int, res: Verified,
            load: Callable[[Path], Any]) -> AllowanceRecords | None:
    """The records the allowance table is recomputed from (`load` reads a bundle JSON file)."""
    if not (out / "records.json").exists():
        if (out / "records_proofs.json").exists():
            res.add(Kind.RECORDS, "records_proofs.json", "proves records, but records.json is missing")
        return None
    try:
        stated = JsonRecords.parse(load(out / "records.json"), "records.json")
    except InputError as exc:
        res.add(Kind.RECORDS, "records.json", str(exc))
        return None
    if not (out / "records_proofs.json").exists():
        res.notes.append("records.json: unproven: the allowance records come from a JSON records file, "
                         "not from the chain; the allowance figures rest on that file alone")
        return stated
    try:
        proven = _proven_records(load(out / "records_proofs.json"), genesis, company, year, res)
    except SchemaError as exc:
        res.add(Kind.PROOF, "records_proofs.json", f"malformed: {exc}")
        return None
    from_chain = Views("records_proofs.json", tuple(view_of(r) for r in proven))
    want = allowances.records_json(from_chain, company, year)
    got = allowances.records_json(stated, company, year)
    for kind in sorted(set(want) | set(got)):
        if want.get(kind) != got.get(kind):
            stated_text, proven_text = repr(got.get(kind, []))[:200], repr(want.get(kind, []))[:200]
            res.add(Kind.RECORDS, f"records.json {kind}", f"{stated_text} stated; the proven records give "
                                                          f"{proven_text}")
    return from_chain


def statement(out: Path, genesis: Genesis, company: str, year: int, res: Verified,
              load: Callable[[Path], Any], manifest_sha256: str) -> None:
    doc = load(out / "statement.json")
    if not isinstance(doc, dict) or doc.get("format") != chainrecords.STATEMENT_FORMAT:
        res.add(Kind.SIGNATURE, "statement.json", "unsigned: not a verifier's statement record committed "
                                                  "on the chain, so no signature stands behind it")
        _unsigned(doc, company, year, res, manifest_sha256)
        return
    same_chain(doc, "statement.json", genesis, res, Kind.SIGNATURE, keys=("chain_id",))
    try:
        header = certified_header(genesis, doc, "statement", res)
        record = None if header is None else proven_record(genesis, header, doc, "statement.json", company,
                                                           year, res)
    except SchemaError as exc:
        res.add(Kind.PROOF, "statement.json", f"malformed: {exc}")
        return
    if record is None:
        return
    if not isinstance(record.body, Statement):
        res.add(Kind.RECORDS, f"statement.json {_name(record)}", "is not a verification statement")
        return
    if record.body.manifest_hash != manifest_sha256:
        res.add(Kind.RECORDS, f"statement.json {_name(record)}",
                f"the verifier signed off the report whose manifest hashes to "
                f"{record.body.manifest_hash[:16]}..., not this one ({manifest_sha256[:16]}...)")


def _unsigned(doc: Any, company: str, year: int, res: Verified, manifest_sha256: str) -> None:
    """A JSON records file's statement: its field rules, company-year and manifest hash."""
    try:
        parsed = JsonRecords.parse({"statements": [doc]}, "statement.json")
    except InputError as exc:
        res.add(Kind.RECORDS, "statement.json", str(exc))
        return
    found = parsed.statement(company, year)
    if found is None:
        res.add(Kind.RECORDS, "statement.json", f"is not a statement for {company} {year}")
    elif found.manifest_hash != manifest_sha256:
        res.add(Kind.RECORDS, "statement.json", f"the verifier signed off the report whose manifest hashes "
                                                f"to {found.manifest_hash[:16]}..., not this one "
                                                f"({manifest_sha256[:16]}...)")
