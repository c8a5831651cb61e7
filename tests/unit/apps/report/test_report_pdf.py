"""The report's PDF read back by poppler (Debian's poppler-utils): rendered to PNG pages with
`pdftoppm` and its text extracted with `pdftotext`, which must show the report's totals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from carbonlab.apps.report.build import build
from carbonlab.apps.report.model import Template
from carbonlab.apps.report.pdf import fmt
from carbonlab.apps.report.sources import LedgerFile
from carbonlab.node.gwp import GwpSet
from tests.unit.node.query.small_ledger import build as build_ledger

TOOLS = ("pdftoppm", "pdftotext")
missing = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(
    bool(missing) and os.geteuid() != 0,
    reason=f"{', '.join(missing)} not installed (Debian package poppler-utils; ./dev setup installs it "
           "as root)")


@pytest.mark.parametrize("template", list(Template))
def test_pdf_renders_and_shows_the_totals(tmp_path: Path, template: Template) -> None:
    if missing:
        pytest.fail(f"running as root but {', '.join(missing)} missing: run ./dev setup (poppler-utils)")
    ledger = tmp_path / "ledger.sqlite"
    build_ledger(ledger)
    out = tmp_path / "report"
    source = LedgerFile(ledger)
    try:
        build(source, company="acme", year=2023, template=template, gwp=GwpSet.AR5, out=out)
    finally:
        source.close()
    pdf = out / "report.pdf"
    pages = tmp_path / "pages"
    pages.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(pages / "page")], check=True,
                   timeout=120, capture_output=True)
    pngs = sorted(pages.glob("page*.png"))
    assert pngs
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000 for p in pngs)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, timeout=120,
                          capture_output=True, text=True).stdout
    report = json.loads((out / "report.json").read_bytes())
    total = next(t for t in report["tables"] if t["name"] == "total")
    column = "co2e_t" if template is Template.GHG_SCOPE1 else "co2_t"
    value = total["rows"][0]["values"][total["value_columns"].index(column)]
    assert fmt(column, value) in text
    assert "acme" in text
    assert str(report["year"]) in text
