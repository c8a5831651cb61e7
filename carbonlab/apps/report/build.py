"""`build`: one company-year's report in every form, and its verification bundle, in one call.

Writes into a fresh directory next to `out` and renames it into place at the end, so a failed
build leaves nothing behind (and an existing `out` is never half overwritten: it is refused).
A build killed outright (SIGKILL, power loss) cannot remove its temporary directory; its name
carries the builder's PID (`.<out>.report-build-<pid>-<random>`), and the next build in the same
parent directory removes every such directory whose process is gone, and says so
(`Built.stale_removed`). A directory of a build still running (its PID alive) is left alone.

    out/report.json      canonical JSON (RFC 8785), `document.py`
    out/report.xlsx      the same tables, `xlsx.py`
    out/report.pdf       the same tables for people, `pdf.py`
    out/proofs.json      per-block multi-proofs of every reading summed, `proofs.py`
    out/records.json     the company-year's allowance records (JsonRecords format), if given
    out/manifest.json    SHA-256 of each file above, the chain id and genesis hash
    out/statement.json   the verifier's statement, when the records hold one: made over the
                         SHA-256 of a manifest.json, so it is outside the manifest

Every file is a function of the ledger's content, the records and the options (canonical JSON,
a PDF without creation time or random id, an XLSX with fixed times), so rebuilding a report
gives the same manifest, and a verifier's statement over its hash stays checkable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab.apps.compliance.records import AllowanceRecords
from carbonlab.apps.report import allowances, cells, document, pdf, templates, xlsx
from carbonlab.apps.report.chainrecords import BundleRecords
from carbonlab.apps.report.jcs import canonical
from carbonlab.apps.report.model import YEARS, Report, ReportError, Template
from carbonlab.apps.report.sources import ReportSource
from carbonlab.apps.report.tempdirs import TEMP_MARK, remove_stale
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.query import FilterError

# /2 (2026-12-06): documents written uncompressed and required byte-equal to a rebuild, and
# eu-mrr's hours in hours; a /1 bundle is refused by name (verify it with the carbonlab that built it)
MANIFEST_FORMAT = "carbonlab-report-manifest/2"
EARLIER_MANIFEST_FORMATS = ("carbonlab-report-manifest/1",)


@dataclass(frozen=True, slots=True)
class Built:
    out: Path
    report: Report
    readings: int
    bundle_bytes: int
    height: int               # the chain's height the figures and proofs are as of
    stale_removed: tuple[Path, ...] = ()


def make_report(source: ReportSource, company: str, year: int, template: Template, gwp: GwpSet,
                records: AllowanceRecords | None) -> tuple[Report, int, int, BundleRecords | None]:
    """The report, the readings it sums, the height they are as of, and the chain's records it
    used (when `records` is None and the source holds some for the company-year)."""
    genesis = source.genesis
    flt = cells.report_filter(company, year)
    try:
        flt.check(genesis)
    except FilterError as exc:
        raise ReportError("--company", exc.problem) from None
    monthly = source.monthly(flt)
    cs = cells.from_query(monthly)
    chain = source.chain_records(company, year) if records is None else None
    if chain is not None:
        records = chain.records
    account = None if records is None else allowances.account(records, company, year)
    report = Report(company, company_name(genesis, company), year, template, gwp.value, genesis.chain_id,
                    genesis.hash.hex(), templates.tables(template, genesis, cs, gwp, account),
                    templates.notes(template, gwp, genesis.params.reading_interval_s))
    return report, sum(c.readings for c in cs), monthly.height, chain


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def company_name(genesis: Genesis, company: str) -> str:
    """The name genesis gives the company, else its id."""
    org = next((c for c in genesis.companies if c.id == company), None)
    return org.name if org else company


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build(source: ReportSource, *, company: str, year: int, template: Template, gwp: GwpSet,
          out: Path, records: AllowanceRecords | None = None) -> Built:
    """The report and its bundle in `out`. Without `records`, the source's own chain records of
    the company-year (`chainrecords.py`, with their proofs and the verifier's signed statement)
    when it holds any; with `records` (a JSON file's), those, unproven."""
    if not YEARS[0] <= year <= YEARS[1]:
        raise ReportError("--year", f"{year} is not in {YEARS[0]}..{YEARS[1]}")
    if out.exists() or out.is_symlink():
        raise ReportError("--out", f"{out} exists; the report goes into a new directory")
    if not out.parent.is_dir():
        raise ReportError("--out", f"{out.parent} is not a directory")
    stale = remove_stale(out.parent)
    report, count, height, chain = make_report(source, company, year, template, gwp, records)
    if chain is not None:
        records = chain.records
    genesis = source.genesis
    since, until = cells.year_bounds(year)
    meters = [m.id for m in genesis.meters if m.company == company]
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}{TEMP_MARK}{os.getpid()}-", dir=out.parent))
        work.chmod(0o777 & ~_umask())    # mkdtemp's 0700 would hide the report from its readers
    except OSError as exc:
        raise ReportError("--out", f"cannot create a directory in {out.parent} ({exc.strerror})") from None
    try:
        (work / "report.json").write_bytes(document.to_bytes(report))
        xlsx.write(report, work / "report.xlsx")
        pdf.write(report, work / "report.pdf")
        (work / "proofs.json").write_text(json.dumps(source.proofs(meters, since, until, height),
                                                     separators=(",", ":")), encoding="utf-8")
        if records is not None:
            (work / "records.json").write_bytes(
                canonical(allowances.records_json(records, company, year)))
        if chain is not None:
            (work / "records_proofs.json").write_bytes(canonical(chain.proofs))
        files = {p.name: sha256_file(p) for p in sorted(work.iterdir())}
        manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "chain_id": genesis.chain_id,
                                    "genesis_hash": genesis.hash.hex(), "company": company,
                                    "year": year, "template": template.value, "files": files}
        (work / "manifest.json").write_bytes(canonical(manifest))
        statement = None if records is None or chain is not None else records.statement(company, year)
        if chain is not None and chain.statement is not None:
            (work / "statement.json").write_bytes(canonical(chain.statement))
        elif statement is not None:
            (work / "statement.json").write_bytes(canonical(allowances.statement_json(statement)))
        size = sum(p.stat().st_size for p in work.iterdir())
        work.rename(out)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise ReportError("--out", f"{out}: cannot write the report ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Built(out, report, count, size, height, stale)


def attach_statement(out: Path, source: ReportSource, company: str, year: int) -> bool:
    """Write the verifier's statement record, as the chain committed it with its proof, into
    the report directory `out` (beside its manifest): the verifier's flow on a live chain, where
    rebuilding the report later would take newer readings and give another manifest. False when
    the chain holds no statement for the company-year yet; `report verify` then checks that it is
    over this report's manifest."""
    chain = source.chain_records(company, year)
    if chain is None or chain.statement is None:
        return False
    if not (out / "manifest.json").is_file():
        raise ReportError("DIR", f"{out} holds no manifest.json: not a report directory")
    tmp = out / ".statement.json.tmp"
    tmp.write_bytes(canonical(chain.statement))
    tmp.replace(out / "statement.json")
    return True
