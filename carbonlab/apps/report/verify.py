"""`verify`: a report directory checked with genesis alone, no node, no network.

In order, and every problem is named (capped at `MAX_PROBLEMS`):

1. manifest: each listed file exists and has the listed SHA-256; no file is unlisted; the
   manifest's chain id and genesis hash are the given genesis's.
2. proofs, block by block: the header's fields reproduce its proposal digest; the commit
   certificate certifies that height and digest with 2f + 1 valid member signatures of
   genesis (a missing or bad signature names the block and the member); each batch's bytes,
   re-encoded from its fields, are leaf `index` under the header's `batches_root`; its leaf
   hashes hash to its readings root and that root is signed by the gateway's genesis key;
   each used reading hashes to its leaf (a changed reading is named `meter/seq`), passes the
   contract's stateless checks, belongs to the company and the year, and is used once; no
   reading of the company-year in a carried batch is left out.
3. figures: the meter-month cells are summed again from the proven readings, the template's
   tables recomputed (with the allowance account from `records.json`), and every figure of
   `report.json` and of `report.xlsx` compared with its recomputed value (relative 1e-9);
   `report.json` must be canonical (RFC 8785).
4. the verifier's statement, when present, must be the one `records.json` holds.

A bundle shows that every figure is the sum of certified readings; that no certified reading
of the company-year was left out of the bundle needs the chain itself (`ledger verify` over a
member's ledger, or the query module on a node).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgpack

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.jsonrecords import JsonRecords
from carbonlab.apps.report import allowances, cells, document, proofs, templates, xlsx
from carbonlab.apps.report.build import MANIFEST_FORMAT, sha256_file
from carbonlab.apps.report.jcs import canonical
from carbonlab.apps.report.model import Report, ReportError, Table, Value
from carbonlab.node import codec, merkle
from carbonlab.node.contract import reading_problem
from carbonlab.node.crypto import verify as verify_signature
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger.render import certificate_from_json, header_from_json
from carbonlab.node.model import Batch, Reading
from carbonlab.node.schema import as_dict, as_hex, as_int, as_list, as_str

MAX_PROBLEMS = 200
REL = 1e-9


class Kind(StrEnum):
    MANIFEST = "manifest"
    SIGNATURE = "signature"
    PROOF = "proof"
    READING = "reading"
    FIGURE = "figure"
    RECORDS = "records"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    where: str        # the file, block, reading (meter/seq) or figure name
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.where}: {self.detail}"


@dataclass
class Verified:
    blocks: int = 0
    batches: int = 0
    readings: int = 0
    figures: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: Kind, where: str, detail: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(kind, where, detail))

    def summary(self) -> str:
        done = (f"{self.blocks} blocks, {self.batches} batches, {self.readings} readings, "
                f"{self.figures} figures")
        return f"ok: {done} verified" if self.ok else f"FAILED: {len(self.problems)} problem(s) ({done})"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReportError(path.name, f"not readable JSON ({exc})") from None


def _check_manifest(out: Path, genesis: Genesis, res: Verified) -> dict[str, Any]:
    manifest = _load_json(out / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise ReportError("manifest.json", f"not a {MANIFEST_FORMAT} manifest")
    if manifest.get("chain_id") != genesis.chain_id:
        res.add(Kind.MANIFEST, "manifest.json", f"chain {manifest.get('chain_id')!r}, genesis says "
                                                f"{genesis.chain_id!r}")
    if manifest.get("genesis_hash") != genesis.hash.hex():
        res.add(Kind.MANIFEST, "manifest.json", "made under another genesis than the one given")
    files: dict[str, Any] = manifest["files"]
    for name, digest in sorted(files.items()):
        path = out / name
        if "/" in name or not path.is_file():
            res.add(Kind.MANIFEST, name, "listed in the manifest but missing")
        elif sha256_file(path) != digest:
            res.add(Kind.MANIFEST, name, "its SHA-256 is not the manifest's (the file was changed)")
    for path in sorted(out.iterdir()):
        if path.name != "manifest.json" and path.name not in files:
            res.add(Kind.MANIFEST, path.name, "not listed in the manifest")
    return manifest


def _check_block(genesis: Genesis, i: int, block: Any, meters: set[str], since: int, until: int,
                 seen: set[tuple[str, int]], proven: list[Reading], res: Verified) -> None:
    b = as_dict(block, f"proofs.blocks[{i}]")
    header = header_from_json(b.get("header"), f"proofs.blocks[{i}].header")
    cert = certificate_from_json(b.get("certificate"), f"proofs.blocks[{i}].certificate")
    where = f"block {header.height}"
    res.blocks += 1
    if header.chain_id != genesis.chain_id or not header.proposal_digest_matches():
        res.add(Kind.PROOF, where, "header fields do not reproduce its proposal_digest")
        return
    wrong = cert.mismatch(header.height, header.proposal_digest, f"{where}'s")
    bad = wrong or cert.check(genesis.chain_id, genesis.member_keys, genesis.quorum)
    if bad is not None:
        res.add(Kind.SIGNATURE, f"{where} certificate", bad)
        return
    for j, raw in enumerate(as_list(b.get("batches"), f"{where}.batches")):
        _check_batch(genesis, header.height, header.batch_count, header.batches_root, j, raw, meters,
                     since, until, seen, proven, res)


def _check_batch(genesis: Genesis, height: int, count: int, root: bytes, j: int, raw: Any,
                 meters: set[str], since: int, until: int, seen: set[tuple[str, int]],
                 proven: list[Reading], res: Verified) -> None:
    at = f"block {height} batch {j}"
    e = as_dict(raw, at)
    gateway_id = as_str(e.get("gateway_id"), f"{at}.gateway_id")
    seq = as_int(e.get("batch_seq"), f"{at}.batch_seq", lo=0)
    at = f"block {height} batch {gateway_id}/{seq}"
    res.batches += 1
    signature = as_hex(e.get("signature"), f"{at}.signature", size=64)
    try:
        leaves = [bytes.fromhex(x) for x in as_list(e.get("readings"), f"{at}.readings")]
        hashes = [bytes.fromhex(x) for x in as_list(e.get("leaf_hashes"), f"{at}.leaf_hashes")]
    except (TypeError, ValueError):
        res.add(Kind.PROOF, at, "readings and leaf_hashes must be lists of hex strings")
        return
    used = [as_int(x, f"{at}.used[{k}]", lo=0) for k, x in enumerate(as_list(e.get("used"), at))]
    if len(hashes) != len(leaves) or any(len(h) != 32 for h in hashes):
        res.add(Kind.PROOF, at, f"{len(leaves)} readings need as many 32-byte leaf hashes")
        return
    gateway = genesis.gateway_by_id.get(gateway_id)
    if gateway is None:
        res.add(Kind.SIGNATURE, at, f"gateway {gateway_id!r} is not in genesis")
        return
    readings_root = _root_of_leaf_hashes(hashes)
    header = ["carbonlab/batch/1", genesis.chain_id, gateway_id, seq, len(leaves), readings_root]
    if not verify_signature(gateway.public_key, signature, codec.encode(header)):
        res.add(Kind.SIGNATURE, at, f"the gateway signature does not verify under {gateway_id!r}'s "
                                    "genesis key over the batch's readings root")
        return
    sha = hashlib.sha256
    changed = [k for k, leaf in enumerate(leaves) if sha(b"\x00" + leaf).digest() != hashes[k]]
    for k in changed:
        res.add(Kind.READING, _reading_name(leaves[k], f"{at} reading {k}"),
                f"changed: it is not the reading the gateway signed ({at}, leaf {k})")
    if changed:
        return
    raw = _batch_bytes(genesis.chain_id, gateway_id, seq, leaves, signature)
    path = [as_hex(h, f"{at}.path", size=32) for h in as_list(e.get("path"), f"{at}.path")]
    if not merkle.verify(raw, as_int(e.get("index"), f"{at}.index", lo=0), count, path, root):
        res.add(Kind.PROOF, at, f"not a batch of block {height} (Merkle path to batches_root fails)")
        return
    try:
        readings = Batch.decode(raw).readings
    except SchemaError as exc:
        res.add(Kind.PROOF, at, f"does not decode: {exc}")
        return
    wanted = set(used)
    for k in used:
        if k >= len(readings):
            res.add(Kind.READING, f"{at} reading {k}", "used but not in the batch")
            continue
        r = readings[k]
        name = f"{r.meter_id}/{r.seq}"
        if r.meter_id not in meters or not since <= r.interval_start < until:
            res.add(Kind.READING, name, "not a reading of the report's company and year")
            continue
        if (r.meter_id, r.seq) in seen:
            res.add(Kind.READING, name, "used twice")
            continue
        found = reading_problem(genesis, gateway_id, r)
        if found is not None:
            res.add(Kind.READING, name, f"fails the contract ({found[0].value}): {found[1]}")
            continue
        seen.add((r.meter_id, r.seq))
        proven.append(r)
    for k, r in enumerate(readings):
        if k not in wanted and r.meter_id in meters and since <= r.interval_start < until:
            res.add(Kind.READING, f"{r.meter_id}/{r.seq}", f"a reading of the company-year in {at} "
                                                           "that the report leaves out")


def _reading_name(leaf: bytes, fallback: str) -> str:
    try:
        r = Reading.from_wire(codec.decode(leaf, "reading"))
    except SchemaError:
        return fallback
    return f"{r.meter_id}/{r.seq}"


def _batch_bytes(chain_id: str, gateway_id: str, seq: int, leaves: list[bytes], signature: bytes) -> bytes:
    """`Batch.encode()` of the batch, from its readings' canonical bytes without decoding them: a
    msgpack array's bytes are its header and its items' bytes (the Merkle path to the certified
    batches_root then checks the result)."""
    p = msgpack.Packer(use_bin_type=True, use_single_float=False, strict_types=False)
    return b"".join((p.pack_array_header(5), p.pack(chain_id), p.pack(gateway_id), p.pack(seq),
                     p.pack_array_header(len(leaves)), *leaves, p.pack(signature)))


def _root_of_leaf_hashes(hashes: list[bytes]) -> bytes:
    """The batch tree's root from its leaf hashes (`carbonlab.node.merkle.root` after hashing)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    level = hashes
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def _compare(source: str, stated: tuple[Table, ...], expected: tuple[Table, ...], res: Verified) -> None:
    want: dict[str, Value] = {}
    for t in expected:
        want.update(t.figures())
    got: dict[str, Value] = {}
    for t in stated:
        got.update(t.figures())
    for name, value in want.items():
        res.figures += 1
        if name not in got:
            res.add(Kind.FIGURE, f"{source} {name}", "missing")
        elif not _same(got[name], value):
            res.add(Kind.FIGURE, f"{source} {name}", f"{got[name]!r} stated, {value!r} recomputed from "
                                                     "the proven readings and records")
    for name in got:
        if name not in want:
            res.add(Kind.FIGURE, f"{source} {name}", "a figure the recomputation has no row for")


def verify(out: Path, genesis: Genesis) -> Verified:
    if not out.is_dir():
        raise ReportError("DIR", f"{out} is not a directory")
    res = Verified()
    _check_manifest(out, genesis, res)
    raw_report = (out / "report.json").read_bytes() if (out / "report.json").is_file() else b""
    if not raw_report:
        raise ReportError("report.json", "missing")
    stated: Report = document.from_json(_load_json(out / "report.json"))
    if canonical(json.loads(raw_report)) != raw_report:
        res.add(Kind.FIGURE, "report.json", "is not in RFC 8785 canonical form")
    if stated.genesis_hash != genesis.hash.hex():
        res.add(Kind.MANIFEST, "report.json", "names another genesis than the one given")
    since, until = cells.year_bounds(stated.year)
    meters = {m.id for m in genesis.meters if m.company == stated.company}
    if not meters:
        raise ReportError("report.json.company", f"genesis names no meter of {stated.company!r}")
    bundle = _load_json(out / "proofs.json")
    seen: set[tuple[str, int]] = set()
    proven: list[Reading] = []
    try:
        p = as_dict(bundle, "proofs")
        if p.get("format") != proofs.FORMAT:
            raise ReportError("proofs.json.format", f"expected {proofs.FORMAT!r}")
        for i, block in enumerate(as_list(p.get("blocks"), "proofs.blocks", max_len=10_000_000)):
            _check_block(genesis, i, block, meters, since, until, seen, proven, res)
    except SchemaError as exc:
        res.add(Kind.PROOF, "proofs.json", f"malformed: {exc}")
    res.readings = len(proven)
    account = None
    if (out / "records.json").is_file():
        try:
            records = JsonRecords.parse(_load_json(out / "records.json"), "records.json")
        except InputError as exc:
            res.add(Kind.RECORDS, "records.json", str(exc))
        else:
            account = allowances.account(records, stated.company, stated.year)
            statement = records.statement(stated.company, stated.year)
            if (out / "statement.json").is_file() and (
                    statement is None or _load_json(out / "statement.json")
                    != json.loads(canonical(allowances.statement_json(statement)))):
                res.add(Kind.RECORDS, "statement.json", "is not the statement records.json holds")
    try:
        gwp = GwpSet(stated.gwp)
    except ValueError:
        raise ReportError("report.json.gwp", f"{stated.gwp!r} is not a GWP set") from None
    recomputed = templates.tables(stated.template, genesis,
                                  cells.from_readings(proven, meters, stated.year,
                                                      genesis.params.reading_interval_s),
                                  gwp, account)
    _compare("report.json", stated.tables, recomputed, res)
    if (out / "report.xlsx").is_file():
        try:
            _compare("report.xlsx", xlsx.read_tables(out / "report.xlsx", recomputed), recomputed, res)
        except ReportError as exc:
            res.add(Kind.FIGURE, exc.field, exc.problem)
    return res
