"""The report's documents against the recomputation: figures, text and layout, and the bytes.

`report.json` is checked field by field (`header`, `compare`): every figure within a relative
1e-9 of the value recomputed from the proven readings and records (summation order differs),
and what is not a figure (names, notes, titles, columns, row keys) equal to what genesis and the
template give. The PDF and the XLSX are then checked as renderings of that verified report.json:
build writes both reproducibly, so verify writes them again from report.json and requires the
very same bytes (`rendering`). A check of the workbook's cells alone would let through what
changes what a reader sees but not a cell's value: a literal-text number format, a hidden sheet,
row or column, a white font, a comment, an extra zip member. The XLSX's cells are read back and
compared too (`xlsx`), so a changed number is named by its figure, not only as a changed file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from carbonlab.apps.report import pdf, xlsx
from carbonlab.apps.report.findings import Kind, Verified
from carbonlab.apps.report.model import Report, ReportError, Row, Table, Value

REL = 1e-9


def header(manifest: dict[str, object], stated: Report, expected: Report, res: Verified) -> None:
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


def compare(source: str, stated: tuple[Table, ...], expected: tuple[Table, ...], res: Verified) -> None:
    """Every figure of `stated` against its recomputed value, named `source table/key.../column`."""
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


def xlsx_cells(path: Path, expected: Report, res: Verified) -> bool:
    """The workbook's sheets, its `report` sheet and every figure's cell, read back; whether all
    matched."""
    before = len(res.problems)
    try:
        sheets, got = xlsx.read_header(path)
    except ReportError as exc:
        res.add(Kind.DOCUMENT, exc.field, exc.problem)
        return False
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
    try:
        compare("report.xlsx", xlsx.read_tables(path, expected.tables), expected.tables, res)
    except ReportError as exc:
        res.add(Kind.FIGURE, exc.field, exc.problem)
    return len(res.problems) == before


def rendering(name: str, path: Path, render: Callable[[], bytes], writer: str, what: str, changed: str,
              res: Verified) -> None:
    """`path` must hold exactly the bytes `render` gives here."""
    if render() != path.read_bytes():
        res.add(Kind.DOCUMENT, name, f"is not the {what} of report.json's figures that build writes "
                                     f"(written here with {writer}): {changed}, or one made with "
                                     f"another {writer.split()[0]} version")


def pdf_of(stated: Report, expected: Report) -> Report:
    """The stated report as the PDF renders it: its figures typed as the recomputation types them
    (canonical JSON writes 5.0 as 5, and the PDF prints a float tonnage as 5.000)."""
    def like(v: Value, w: Value) -> Value:
        return float(v) if isinstance(w, float) and isinstance(v, int) else v

    return replace(expected, tables=tuple(
        replace(e, rows=tuple(Row(r.key, tuple(like(v, w) for v, w in zip(r.values, er.values, strict=True)))
                              for r, er in zip(t.rows, e.rows, strict=True)))
        for t, e in zip(stated.tables, expected.tables, strict=True)))


def documents(out: Path, stated: Report, expected: Report, json_ok: bool, res: Verified) -> None:
    """The PDF and the XLSX; their bytes only when report.json, which they render, checked out."""
    if (out / "report.xlsx").is_file() and xlsx_cells(out / "report.xlsx", expected, res) and json_ok:
        rendering("report.xlsx", out / "report.xlsx", lambda: xlsx.to_bytes(stated), xlsx.writer(),
                  "workbook", "a workbook changed in what it shows but not in its cells' values (a "
                  "number format, a font, a hidden sheet, row or column, a comment, a zip member)", res)
    if (out / "report.pdf").is_file() and json_ok:
        rendering("report.pdf", out / "report.pdf", lambda: pdf.to_bytes(pdf_of(stated, expected)),
                  pdf.writer(), "rendering", "a changed PDF", res)


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)


def _short(value: object, n: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."
