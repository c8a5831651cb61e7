"""The report as an XLSX workbook (openpyxl: the maintained pure-Python reader and writer of
Office Open XML, so the verifier can read back the very cells it checks).

One sheet `report` with the header (company, year, template, GWP set, chain, genesis hash)
and one sheet per table: a header row of the key and value column names, then one row per
table row. Numbers are written as numbers (full double precision), never as text, and as
canonical JSON writes them (an integral double as an integer, -0 as 0), so the workbook is a
function of report.json's figures alone, whichever numeric type a path computed them in.

The bytes are reproducible, so `verify` can write the workbook again from the verified
report.json and require the very same bytes (a check of the cells alone lets a number format,
a hidden sheet, row or column, a font, a comment or an extra zip member change what Excel shows):
the document times are fixed (the first instant after the report year), and the zip's entries
keep openpyxl's order, with a fixed date and host system, stored uncompressed (deflate's output
depends on the zlib build, e.g. zlib-ng gives other bytes than zlib).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zipfile import ZIP_STORED, ZipFile, ZipInfo

from openpyxl import Workbook, load_workbook
from openpyxl.xml.functions import tostring

from carbonlab.apps.report.model import Report, ReportError, Row, Table, Value


def write(report: Report, path: Path) -> None:
    path.write_bytes(to_bytes(report))


def to_bytes(report: Report) -> bytes:
    """The workbook's bytes: the same for the same report.json, on any machine with this
    openpyxl version."""
    wb = Workbook()
    ws = wb.active
    ws.title = "report"
    for header in header_rows(report):
        ws.append(list(header))
    for t in report.tables:
        sheet = wb.create_sheet(t.name)
        sheet.append([*t.key_columns, *t.value_columns])
        for r in t.rows:
            sheet.append([*r.key, *(_number(v) for v in r.values)])
    return _save_reproducibly(wb, dt.datetime(report.year + 1, 1, 1))


def _number(v: Value) -> Value:
    """As canonical JSON writes it: 5.0 as 5, -0.0 as 0 (the doubles are the same numbers)."""
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) <= 2**53 else v


def writer() -> str:
    """What wrote a workbook here (another version writes other bytes)."""
    import openpyxl

    return f"openpyxl {openpyxl.__version__}" + (" with lxml" if openpyxl.LXML else "")


def header_rows(report: Report) -> list[tuple[str, str | int]]:
    """The sheet `report`: the report's header, then one row per note."""
    return [("company", report.company), ("company name", report.company_name), ("year", report.year),
            ("template", report.template.value), ("GWP set", report.gwp), ("chain", report.chain_id),
            ("genesis hash", report.genesis_hash), *(("note", note) for note in report.notes)]


def read_header(path: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    """The workbook's sheet names, and the rows of the sheet `report` as it holds them
    (ReportError naming a bad file)."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:    # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ReportError(path.name, f"not a readable workbook ({exc})") from None
    try:
        if "report" not in wb.sheetnames:
            raise ReportError(f"{path.name}!report", "sheet missing")
        return list(wb.sheetnames), [tuple(row) for row in wb["report"].iter_rows(values_only=True)]
    finally:
        wb.close()


def _save_reproducibly(wb: Workbook, when: dt.datetime) -> bytes:
    """Saved with fixed document times and zip entries, so the same report gives the same bytes
    (openpyxl stamps the save time into docProps/core.xml and each zip entry; zipfile writes the
    host system into each entry)."""
    wb.properties.creator = "carbonlab"
    wb.properties.created = when
    buf = io.BytesIO()
    wb.save(buf)
    wb.properties.modified = when
    core = tostring(wb.properties.to_tree())
    out = io.BytesIO()
    with ZipFile(buf) as src, ZipFile(out, "w", ZIP_STORED) as dst:
        for info in src.infolist():
            entry = ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = ZIP_STORED
            entry.create_system = 3              # zipfile says 0 on Windows, 3 elsewhere
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, core if info.filename == "docProps/core.xml" else src.read(info))
    return out.getvalue()


def read_tables(path: Path, like: tuple[Table, ...]) -> tuple[Table, ...]:
    """The tables as the workbook holds them, shaped like `like` (the JSON's tables); a missing
    sheet, a wrong header or a cell that is not a number raises ReportError naming it."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:    # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ReportError(path.name, f"not a readable workbook ({exc})") from None
    try:
        out = []
        for t in like:
            if t.name not in wb.sheetnames:
                raise ReportError(f"{path.name}!{t.name}", "sheet missing")
            rows = list(wb[t.name].iter_rows(values_only=True))
            head = [*t.key_columns, *t.value_columns]
            if not rows or list(rows[0])[:len(head)] != head:
                raise ReportError(f"{path.name}!{t.name}", f"header row is not {head}")
            got = []
            nk = len(t.key_columns)
            for i, raw in enumerate(rows[1:], start=2):
                cells = [*raw, *[None] * (len(head) - len(raw))]
                values: list[Value] = []
                for j, v in enumerate(cells[nk:nk + len(t.value_columns)]):
                    if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                        raise ReportError(f"{path.name}!{t.name} row {i} column "
                                          f"{t.value_columns[j]}", f"{v!r} is not a number")
                    values.append(v)
                got.append(Row(tuple(str(k) for k in cells[:nk]), tuple(values)))
            out.append(Table(t.name, t.title, t.key_columns, t.value_columns, tuple(got)))
        return tuple(out)
    finally:
        wb.close()
