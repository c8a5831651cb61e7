"""`verify`: a report directory checked with genesis alone, no node, no network.

In order, and every problem is named (capped at `findings.MAX_PROBLEMS`):

0. sizes: every file of the directory is a regular file within its cap, and the XLSX's zip
   declares no more than its caps unzipped (`limits.py`), before anything is read.
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

import math
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from carbonlab.apps import jsonfile
from carbonlab.apps.jsonfile import JsonFileError
from carbonlab.apps.report import (
    allowances,
    cells,
    document,
    limits,
    pdf,
    proofs,
    recordcheck,
    templates,
    xlsx,
)
from carbonlab.apps.report.build import MANIFEST_FORMAT, company_name, sha256_file
from carbonlab.apps.report.findings import Kind, Problem, Verified
from carbonlab.apps.report.jcs import CanonicalJsonError, canonical
from carbonlab.apps.report.model import Cell, Report, ReportError, Row, Table, Value
from carbonlab.apps.report.proofcheck import Scope, check_blocks
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.schema import as_dict, as_list

__all__ = ["Kind", "Problem", "Verified", "verify"]
REL = 1e-9


REQUIRED = ("proofs.json", "report.json", "report.pdf", "report.xlsx")   # what `build` always writes


def _load_json(path: Path) -> Any:
    if path.exists() or path.is_symlink():
        limits.check_size(path)                  # a FIFO would block the read for ever
    try:
        return jsonfile.load(path)
    except OSError as exc:
        raise ReportError(path.name, f"cannot read ({exc.strerror})") from None
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
    files: dict[str, Any] = manifest["files"]
    for name, digest in sorted(files.items()):
        path = out / name
        if "/" in name or not path.is_file():
            res.add(Kind.MANIFEST, name, "listed in the manifest but missing")
        elif sha256_file(path) != digest:
            res.add(Kind.MANIFEST, name, "its SHA-256 is not the manifest's (the file was changed)")
    for name in REQUIRED:
        if name not in files:
            res.add(Kind.MANIFEST, name, "not in the manifest: every report bundle has it")
    for path in sorted(out.iterdir()):
        if path.name not in ("manifest.json", "statement.json", *REQUIRED) and path.name not in files:
            res.add(Kind.MANIFEST, path.name, "not listed in the manifest")
    return manifest


def _check_header(manifest: dict[str, Any], stated: Report, expected: Report, res: Verified) -> None:
    """What is not a figure: the manifest's and the report's header, notes, tables' titles,
    columns and rows must be what genesis and the template give (a figure check alone lets a
    changed note, a company name, a duplicated table or row through)."""
    for key, value in (("company", stated.company), ("year", stated.year),
                       ("template", stated.template.value)):
        if manifest.get(key) != value:
            res.add(Kind.MANIFEST, f"manifest.json {key}",
                    f"{manifest.get(key)!r}, report.json says {value!r}")
    for key in ("company_name", "chain_id", "notes"):
        if getattr(stated, key) != getattr(expected, key):
            res.add(Kind.DOCUMENT, f"report.json {key}",
                    f"{_short(getattr(stated, key))}, genesis and the template give "
                    f"{_short(getattr(expected, key))}")
    if [t.name for t in stated.tables] != [t.name for t in expected.tables]:
        res.add(Kind.DOCUMENT, "report.json tables", f"{[t.name for t in stated.tables]}, the template "
                                                     f"gives {[t.name for t in expected.tables]}")
        return
    for got, want in zip(stated.tables, expected.tables, strict=True):
        for key in ("title", "key_columns", "value_columns"):
            if getattr(got, key) != getattr(want, key):
                res.add(Kind.DOCUMENT, f"report.json {got.name} {key}",
                        f"{getattr(got, key)!r}, the template gives {getattr(want, key)!r}")
        keys, wanted = [r.key for r in got.rows], [r.key for r in want.rows]
        if keys != wanted:
            extra = sorted({"/".join(k) for k in keys if keys.count(k) > 1 or k not in wanted})
            res.add(Kind.DOCUMENT, f"report.json {got.name} rows",
                    f"{len(keys)} rows, {len(wanted)} recomputed in another order or with other keys"
                    + (f" (given twice or not recomputed: {', '.join(extra[:5])})" if extra else ""))


def _check_pdf(path: Path, stated: Report, expected: Report, res: Verified) -> None:
    """The PDF must be the rendering of report.json (build's PDF is reproducible: reportlab's
    invariant mode). Rendered from the stated figures, typed as the recomputation types them
    (canonical JSON writes 5.0 as 5, and the PDF prints a float tonnage as 5.000)."""
    def like(v: Value, w: Value) -> Value:
        return float(v) if isinstance(w, float) and isinstance(v, int) else v

    typed = replace(expected, tables=tuple(
        replace(e, rows=tuple(Row(r.key, tuple(like(v, w) for v, w in zip(r.values, er.values, strict=True)))
                              for r, er in zip(t.rows, e.rows, strict=True)))
        for t, e in zip(stated.tables, expected.tables, strict=True)))
    with tempfile.TemporaryDirectory(prefix="carbonlab-verify-") as tmp:
        pdf.write(typed, Path(tmp) / "report.pdf")
        same = (Path(tmp) / "report.pdf").read_bytes() == path.read_bytes()
    if not same:
        import reportlab

        res.add(Kind.DOCUMENT, "report.pdf", "is not the rendering of report.json's figures (rendered here "
                                            f"with reportlab {reportlab.Version}: a changed PDF, or one made "
                                            "with another reportlab version)")


def _short(value: object, n: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _check_xlsx_header(path: Path, expected: Report, res: Verified) -> None:
    try:
        sheets, got = xlsx.read_header(path)
    except ReportError as exc:
        res.add(Kind.DOCUMENT, exc.field, exc.problem)
        return
    wanted = ["report", *(t.name for t in expected.tables)]
    if sheets != wanted:
        res.add(Kind.DOCUMENT, "report.xlsx", f"sheets {sheets}, the report gives {wanted}")
    want = xlsx.header_rows(expected)
    if got != want:
        bad = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
                   min(len(got), len(want)))
        res.add(Kind.DOCUMENT, f"report.xlsx!report row {bad + 1}",
                f"{got[bad] if bad < len(got) else 'missing'!r}, the report gives "
                f"{want[bad] if bad < len(want) else 'no such row'!r}")


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


def verify(out: Path, genesis: Genesis, workers: int | None = 1) -> Verified:
    if not out.is_dir():
        raise ReportError("DIR", f"{out} is not a directory")
    for path in sorted(out.iterdir()):           # every file measured before any is read
        limits.check_size(path)
    if (out / "report.xlsx").exists():
        limits.check_xlsx(out / "report.xlsx")
    res = Verified()
    manifest = _check_manifest(out, genesis, res)
    raw_report = (out / "report.json").read_bytes() if (out / "report.json").is_file() else b""
    if not raw_report:
        raise ReportError("report.json", "missing")
    stated: Report = document.from_json(_load_json(out / "report.json"))
    if not _canonical(jsonfile.loads(raw_report), raw_report):
        res.add(Kind.FIGURE, "report.json", "is not in RFC 8785 canonical form")
    if stated.genesis_hash != genesis.hash.hex():
        res.add(Kind.MANIFEST, "report.json", "names another genesis than the one given")
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
    recomputed = templates.tables(stated.template, genesis,
                                  found, gwp, account)
    expected = Report(stated.company, company_name(genesis, stated.company), stated.year, stated.template,
                      stated.gwp, genesis.chain_id, genesis.hash.hex(), recomputed,
                      templates.notes(stated.template, gwp))
    before = len(res.problems)
    _check_header(manifest, stated, expected, res)
    _compare("report.json", stated.tables, recomputed, res)
    if len(res.problems) == before and (out / "report.pdf").is_file():
        _check_pdf(out / "report.pdf", stated, expected, res)
    if (out / "report.xlsx").is_file():
        _check_xlsx_header(out / "report.xlsx", expected, res)
        try:
            _compare("report.xlsx", xlsx.read_tables(out / "report.xlsx", recomputed), recomputed, res)
        except ReportError as exc:
            res.add(Kind.FIGURE, exc.field, exc.problem)
    return res
