"""`verify`: a report directory checked with genesis alone, no node, no network.

In order, and every problem is named (capped at `findings.MAX_PROBLEMS`):

0. sizes: every file of the directory is a regular file within its cap, and the XLSX's zip
   declares no more than its caps unzipped (`limits.py`), before anything is read.
1. manifest (`manifestcheck.py`): each listed file is one `build` writes, exists and has the
   listed SHA-256; no file is unlisted; the manifest's chain id and genesis hash are the given
   genesis's, and so are those `proofs.json`, `records_proofs.json` and `statement.json` name.
2. proofs, block by block: the header's fields reproduce its proposal digest; the commit
   certificate certifies that height and digest with 2f + 1 valid member signatures of
   genesis (a missing or bad signature names the block and the member); each batch's bytes,
   re-encoded from its fields, are leaf `index` under the header's `batches_root`; its leaf
   hashes hash to its readings root and that root is signed by the gateway's genesis key;
   each used reading hashes to its leaf (a changed reading is named `meter/seq`), passes the
   contract's stateless checks, belongs to the company and the year, and is used once; no
   reading of the company-year in a carried batch is left out.
3. figures and documents (`documentcheck.py`): the meter-month cells are summed again from the
   proven readings, the template's tables recomputed (with the allowance account from
   `records.json`), and every figure of `report.json` and of `report.xlsx` compared with its
   recomputed value (relative 1e-9); `report.json` must be canonical (RFC 8785) and its text
   and layout the template's. The PDF and the XLSX must then be, byte for byte, what build
   writes for that report.json (both writers are reproducible).
4. records and statement (`recordcheck.py`): records from the chain (`records_proofs.json`)
   are certified, signed by their genesis member of the right role and give `records.json`
   exactly; a `records.json` without proofs is noted as unproven. The verifier's statement
   (`statement.json`, beside the manifest), when present, must be a certified statement record
   signed by a verifier member for the report's company and year over this manifest's SHA-256.

A bundle shows that every figure is the sum of certified readings; that no certified reading
of the company-year was left out of the bundle needs the chain itself (`ledger verify` over a
member's ledger, or the query module on a node).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbonlab import jsonfile
from carbonlab.apps.report import (
    allowances,
    cells,
    document,
    documentcheck,
    limits,
    manifestcheck,
    proofs,
    recordcheck,
    templates,
)
from carbonlab.apps.report.build import (
    EARLIER_MANIFEST_FORMATS,
    MANIFEST_FORMAT,
    company_name,
    sha256_file,
)
from carbonlab.apps.report.findings import Kind, Problem, Verified
from carbonlab.apps.report.jcs import CanonicalJsonError, canonical
from carbonlab.apps.report.model import Cell, Report, ReportError
from carbonlab.apps.report.proofcheck import Scope, check_blocks
from carbonlab.jsonfile import JsonFileError
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.schema import as_dict, as_list

__all__ = ["Kind", "Problem", "Verified", "verify"]


def _load_json(path: Path) -> Any:
    if path.exists() or path.is_symlink():
        limits.check_size(path)                  # a FIFO would block the read for ever
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(path.name, f"cannot read ({exc.strerror})") from None
    if not raw:
        raise ReportError(path.name, "empty (0 bytes): not JSON")
    try:
        return jsonfile.loads(raw)
    except JsonFileError as exc:
        raise ReportError(path.name, f"not readable JSON ({exc.problem})") from None


def _canonical(doc: Any, raw: bytes) -> bool:
    """Whether `raw` is the RFC 8785 form of `doc` (a value with no such form, 2**64, is not)."""
    try:
        return canonical(doc) == raw
    except CanonicalJsonError:
        return False


def _check_manifest(out: Path, genesis: Genesis, res: Verified) -> dict[str, Any]:
    manifest = _load_json(out / "manifest.json")
    if isinstance(manifest, dict) and manifest.get("format") in EARLIER_MANIFEST_FORMATS:
        raise ReportError("manifest.json", f"a {manifest['format']} bundle, made by an earlier "
                                           f"carbonlab (before 2026-12-06) whose documents this one "
                                           f"does not rebuild: verify it with that version "
                                           f"(this one reads {MANIFEST_FORMAT})")
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise ReportError("manifest.json", f"not a {MANIFEST_FORMAT} manifest")
    if not _canonical(manifest, (out / "manifest.json").read_bytes()):
        res.add(Kind.MANIFEST, "manifest.json", "is not in RFC 8785 canonical form")
    if manifest.get("chain_id") != genesis.chain_id:
        res.add(Kind.MANIFEST, "manifest.json", f"chain {manifest.get('chain_id')!r}, genesis says "
                                                f"{genesis.chain_id!r}")
    if manifest.get("genesis_hash") != genesis.hash.hex():
        res.add(Kind.MANIFEST, "manifest.json", "made under another genesis than the one given")
    manifestcheck.check_files(out, manifest["files"], res)
    return manifest


def verify(out: Path, genesis: Genesis, workers: int | None = 1) -> Verified:
    if not out.is_dir():
        raise ReportError("DIR", f"{out} is not a directory")
    for path in sorted(out.iterdir()):           # every file measured before any is read
        limits.check_size(path)
    if (out / "report.xlsx").exists():
        limits.check_xlsx(out / "report.xlsx")
    res = Verified()
    manifest = _check_manifest(out, genesis, res)
    if not (out / "report.json").is_file():
        raise ReportError("report.json", "missing")
    stated: Report = document.from_json(_load_json(out / "report.json"))
    since, until = cells.year_bounds(stated.year)
    meters = {m.id for m in genesis.meters if m.company == stated.company}
    if not meters:
        raise ReportError("report.json.company", f"genesis names no meter of {stated.company!r}")
    bundle = _load_json(out / "proofs.json")
    found: tuple[Cell, ...] = cells.from_readings((), meters, stated.year,
                                                  genesis.params.reading_interval_s)
    try:
        p = as_dict(bundle, "proofs")
        if p.get("format") != proofs.FORMAT:
            raise ReportError("proofs.json.format", f"expected {proofs.FORMAT!r}")
        manifestcheck.same_chain(p, "proofs.json", genesis, res, Kind.PROOF)
        blocks = as_list(p.get("blocks"), "proofs.blocks", max_len=10_000_000)
    except SchemaError as exc:
        res.add(Kind.PROOF, "proofs.json", f"malformed: {exc}")
    else:
        found = check_blocks(Scope(genesis, frozenset(meters), stated.year, since, until), blocks, res,
                             workers)
    chain_records = recordcheck.records(out, genesis, stated.company, stated.year, res, _load_json)
    account = None if chain_records is None else allowances.account(chain_records, stated.company,
                                                                     stated.year)
    if (out / "statement.json").exists():
        recordcheck.statement(out, genesis, stated.company, stated.year, res, _load_json,
                              sha256_file(out / "manifest.json"))
    try:
        gwp = GwpSet(stated.gwp)
    except ValueError:
        raise ReportError("report.json.gwp", f"{stated.gwp!r} is not a GWP set") from None
    recomputed = templates.tables(stated.template, genesis, found, gwp, account)
    expected = Report(stated.company, company_name(genesis, stated.company), stated.year, stated.template,
                      stated.gwp, genesis.chain_id, genesis.hash.hex(), recomputed,
                      templates.notes(stated.template, gwp, genesis.params.reading_interval_s))
    before = len(res.problems)
    if not _canonical(jsonfile.load(out / "report.json"), (out / "report.json").read_bytes()):
        res.add(Kind.FIGURE, "report.json", "is not in RFC 8785 canonical form")
    if stated.genesis_hash != genesis.hash.hex():
        res.add(Kind.MANIFEST, "report.json", "names another genesis than the one given")
    documentcheck.header(manifest, stated, expected, res)
    documentcheck.compare("report.json", stated.tables, recomputed, res)
    documentcheck.documents(out, stated, expected, len(res.problems) == before, res)
    return res
