"""How big a bundle's files may be before `verify` reads them, so a hostile bundle is refused
quickly instead of exhausting memory or time.

Theory of operation. `verify` reads bundles that anyone may hand it, so every file is measured
before it is read: its size on disk (a `stat`, no read) against a cap per file, and for the
XLSX, which is a zip archive, the sizes its central directory declares for its entries
(uncompressed) against a cap on their sum and their number. Declared sizes are enough: Python's
`zipfile` stops decompressing an entry at its declared size (`ZipExtFile` truncates at
`file_size`), so a zip bomb that declares small entries yields no more than it declares, and one
that declares gigabytes is refused here before openpyxl opens it. A refusal is a `ReportError`
naming the file and both numbers (exit 2: the bundle is unusable, nothing was checked).

The caps leave room: `bench report`'s company-year (20 stacks, 175,200 hourly readings) has a
58 MB proofs.json, a 37 kB report.json, a 22 kB XLSX (about 0.3 MB unzipped), a 30 kB PDF.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from carbonlab.apps.report.model import ReportError

MiB = 1 << 20
MAX_FILE_BYTES = {"proofs.json": 1024 * MiB}   # ~3 million readings' proofs
MAX_OTHER_BYTES = 64 * MiB                       # every other file of a bundle
MAX_XLSX_UNZIPPED_BYTES = 256 * MiB
MAX_XLSX_ENTRIES = 10_000


def check_size(path: Path) -> None:
    """Refuse `path` when it is not a regular file or is larger than its cap."""
    if path.is_symlink() or not path.is_file():
        raise ReportError(path.name, "not a regular file")
    cap = MAX_FILE_BYTES.get(path.name, MAX_OTHER_BYTES)
    size = path.stat().st_size
    if size > cap:
        raise ReportError(path.name, f"{size:,} bytes, more than the {cap:,} a bundle file may have")


def check_xlsx(path: Path) -> None:
    """Refuse a workbook whose zip declares more entries or more uncompressed bytes than the caps
    (a zip bomb), before anything is decompressed."""
    check_size(path)
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReportError(path.name, f"not a readable workbook ({exc})") from None
    if len(infos) > MAX_XLSX_ENTRIES:
        raise ReportError(path.name, f"{len(infos):,} zip entries, more than {MAX_XLSX_ENTRIES:,}")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_XLSX_UNZIPPED_BYTES:
        raise ReportError(path.name, f"unzips to {unzipped:,} bytes, more than the "
                                     f"{MAX_XLSX_UNZIPPED_BYTES:,} a report workbook may have "
                                     "(a zip bomb?)")
