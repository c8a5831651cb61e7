"""The report page's files: reports built from the member's API, their zip bundle, and uploads verified.

Theory of operation. `Reports` owns one directory (a fresh temporary directory per client
process unless one is given). `build` runs `apps.report.build` with the member's API as its
source (`report.sources.NodeApi`, the same class `carbonlab report build --node` uses) into
`<root>/<id>/`, `id` being the company, year, template and a random suffix; the page then links
each file (`file(id, name)` accepts only the bundle's own file names, so a crafted name cannot
read anything else) and the zip of them all (`zip_bytes`).

An uploaded bundle is hostile until checked: `unpack` refuses what is not a zip archive, an
archive over `UPLOAD_MAX_BYTES`, an entry whose name is not one of the bundle's flat file names
(an absolute path, `..`, a directory, a symbolic link, a stray file), a name given twice, an
unpacked total over `UNPACKED_MAX_BYTES` or an entry that expands more than `MAX_RATIO` times
(a zip bomb); sizes are counted while reading, not trusted from the archive's directory. Only
then is it written to a fresh directory and checked by `apps.report.verify` with the client's
own genesis; the page shows pass, or each failing figure, reading or signature by name.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from carbonlab.apps.report.findings import Verified
from carbonlab.client.appforms import FormError, ReportForm
from carbonlab.node.genesis import Genesis

if TYPE_CHECKING:   # the report's build needs the `apps` extra (reportlab, openpyxl): imported when used
    from carbonlab.apps.compliance.records import AllowanceRecords
    from carbonlab.apps.report.build import Built

BUNDLE_FILES = ("report.pdf", "report.xlsx", "report.json", "proofs.json", "records.json", "manifest.json",
                "statement.json")
UNPACKED_MAX_BYTES = 1024 * 1024 * 1024     # proofs.json of a company-year of 20 stacks is ~55 MB
MAX_RATIO = 200                             # deflate rarely beats 20:1 on this JSON; a bomb does 1000:1
CHUNK = 1 << 20
_ID = re.compile(r"[A-Za-z0-9_.-]{1,120}")


class Reports:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="carbonlab-client-reports-"))

    def build(self, url: str, genesis: Genesis, form: ReportForm,
              records: AllowanceRecords | None = None) -> tuple[str, Built]:
        from carbonlab.apps.report.build import build
        from carbonlab.apps.report.sources import NodeApi

        report_id = f"{form.company}-{form.year}-{form.template.value}-{secrets.token_hex(4)}"
        source = NodeApi(url, genesis)
        try:
            built = build(source, company=form.company, year=form.year, template=form.template, gwp=form.gwp,
                          out=self.root / report_id, records=records)
        finally:
            source.close()
        return report_id, built

    def dir(self, report_id: str) -> Path:
        """The directory of a built report; `FormError` (404) for an id that is not one."""
        path = self.root / report_id
        if not _ID.fullmatch(report_id) or report_id.startswith(".") or not path.is_dir():
            raise FormError("report", f"no report {report_id[:64]!r} was built by this client", 404)
        return path

    def file(self, report_id: str, name: str) -> Path:
        path = self.dir(report_id) / name
        if name not in BUNDLE_FILES or not path.is_file():
            raise FormError("file", f"{name[:64]!r} is not a file of report {report_id}", 404)
        return path

    def zip_bytes(self, report_id: str) -> bytes:
        folder = self.dir(report_id)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in BUNDLE_FILES:
                if (folder / name).is_file():
                    zf.write(folder / name, name)
        return buf.getvalue()

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def unpack(data: bytes, into: Path) -> list[str]:
    """Write the bundle's files into the empty directory `into`; `FormError` (field `bundle`)
    naming what is wrong with a hostile or broken archive. Returns the names written."""
    if not data:
        raise FormError("bundle", "the upload is empty")
    buf = io.BytesIO(data)
    if not zipfile.is_zipfile(buf):
        raise FormError("bundle", "not a zip archive")
    try:
        with zipfile.ZipFile(buf) as zf:
            infos = zf.infolist()
            _check_entries(infos)
            total = 0
            for info in infos:
                total += _extract(zf, info, into / info.filename, total)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError) as exc:
        raise FormError("bundle", f"a broken or unsupported zip archive ({exc})") from None
    names = [i.filename for i in infos]
    if "manifest.json" not in names:
        raise FormError("bundle", "no manifest.json: not a report bundle")
    return names


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        mode = info.external_attr >> 16
        if name not in BUNDLE_FILES:
            raise FormError("bundle", f"entry {name!r} is not a file of a report bundle (the bundle "
                            f"holds only {', '.join(BUNDLE_FILES)}, at its top level)")
        if info.is_dir() or stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise FormError("bundle", f"entry {name!r} is not a regular file")
        if name in seen:
            raise FormError("bundle", f"entry {name!r} is in the archive twice")
        seen.add(name)
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > CHUNK:
            raise FormError("bundle", f"entry {name!r} expands {info.file_size:,} bytes from "
                            f"{info.compress_size:,} (over {MAX_RATIO}:1: a zip bomb?)")
    declared = sum(i.file_size for i in infos)
    if declared > UNPACKED_MAX_BYTES:
        raise FormError("bundle", f"unpacks to {declared:,} bytes, over the {UNPACKED_MAX_BYTES:,} allowed")


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, before: int) -> int:
    """Copy one entry, counting what really comes out (the directory's sizes may lie)."""
    written = 0
    with zf.open(info) as src, dest.open("xb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > info.file_size or before + written > UNPACKED_MAX_BYTES:
                raise FormError("bundle", f"entry {info.filename!r} unpacks to more than its declared "
                                f"{info.file_size:,} bytes or past the {UNPACKED_MAX_BYTES:,} allowed")
            out.write(chunk)
    return written


def verify_upload(data: bytes, genesis: Genesis) -> Verified:
    """Unpack a bundle into a fresh directory, verify it against genesis, remove the directory."""
    from carbonlab.apps.report.model import ReportError
    from carbonlab.apps.report.verify import verify

    with tempfile.TemporaryDirectory(prefix="carbonlab-client-verify-") as tmp:
        unpack(data, Path(tmp))
        try:
            return verify(Path(tmp), genesis)
        except ReportError as exc:
            result = Verified()
            from carbonlab.apps.report.findings import Kind

            result.add(Kind.MANIFEST, exc.field, exc.problem)
            return result
