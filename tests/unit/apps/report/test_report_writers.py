"""The XLSX and PDF writers give bytes that depend on report.json's content alone, so `verify`
can write them again and require the same bytes: no time, no host system, no zlib build (deflate
output differs between zlib and zlib-ng), and no numeric type (5.0 and 5 are one JSON number)."""

from __future__ import annotations

import zipfile
from io import BytesIO

from carbonlab.apps.report import pdf, xlsx
from carbonlab.apps.report.model import Report, Row, Table, Template, Value


def _report(*values: Value) -> Report:
    table = Table("total", "Company total", ("company",), tuple(f"v{i}_t" for i in range(len(values))),
                  (Row(("total",), values),))
    return Report("acme", "Acme Power", 2023, Template.CN_POWER, "AR5", "carbonlab-test", "ab" * 32,
                  (table,), ("a note",))


def test_the_workbook_is_a_function_of_the_json_numbers_not_of_their_python_types() -> None:
    assert xlsx.to_bytes(_report(5.0, -0.0, 0.1, None)) == xlsx.to_bytes(_report(5, 0, 0.1, None))
    assert xlsx.to_bytes(_report(5.0)) != xlsx.to_bytes(_report(5.000001))


def test_the_workbook_zip_is_reproducible_and_uncompressed() -> None:
    raw = xlsx.to_bytes(_report(65.77, 12))
    assert raw == xlsx.to_bytes(_report(65.77, 12))
    with zipfile.ZipFile(BytesIO(raw)) as z:
        entries = z.infolist()
    assert entries
    assert {(e.compress_type, e.create_system, e.date_time) for e in entries} == \
        {(zipfile.ZIP_STORED, 3, (1980, 1, 1, 0, 0, 0))}


def test_the_pdf_is_reproducible_and_its_streams_uncompressed() -> None:
    raw = pdf.to_bytes(_report(65.77, 12))
    assert raw == pdf.to_bytes(_report(65.77, 12))
    assert raw.startswith(b"%PDF-")
    assert b"/FlateDecode" not in raw
