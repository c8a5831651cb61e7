"""The report as PDF (reportlab: the maintained, pure-Python PDF library with a table layout
engine, no system dependency; the test reads the result back with poppler's pdftotext).

Numbers print with a fixed number of decimals (tonnes and MWh to 3, intensities and shares to
4): the PDF is for people; the figures to check are the JSON's and the XLSX's, and `verify`
renders report.json again and compares the bytes (`invariant` mode makes them reproducible: no
creation time, no random id; and the page streams are not compressed, because deflate's output
depends on the zlib build, so a verifier with another zlib would render other bytes).
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from carbonlab.apps.report.model import Report, Value

TITLES = {"cn-power": "Annual emission report: power generation facility (China national ETS layout)",
          "eu-mrr": "Annual emissions report (EU MRR Annex X style)",
          "ghg-scope1": "Scope 1 greenhouse gas inventory"}


def fmt(column: str, v: Value) -> str:
    """How the PDF prints one figure."""
    if v is None:
        return "-"
    if isinstance(v, int) and not column.endswith(("_t", "_mwh")):
        return f"{v:,}"
    if "share" in column or "intensity" in column or column == "gwp100":
        return f"{v:.4f}"
    return f"{v:,.3f}"


def write(report: Report, path: Path) -> None:
    path.write_bytes(to_bytes(report))


def writer() -> str:
    """What rendered a PDF here (another version renders other bytes)."""
    import reportlab

    return f"reportlab {reportlab.Version}"


def to_bytes(report: Report) -> bytes:
    """The PDF's bytes: the same for the same report on any machine with this reportlab version."""
    out = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"{report.company_name} {report.year} {report.template.value}",
                            author="carbonlab", invariant=1, pageCompression=0)
    story = [Paragraph(TITLES[report.template.value], styles["Title"]),
             Paragraph(f"Company: {report.company_name} ({report.company}) &nbsp; Year: {report.year} "
                       f"&nbsp; Template: {report.template.value} &nbsp; GWP set: {report.gwp}",
                       styles["Normal"]),
             Paragraph(f"Chain: {report.chain_id} &nbsp; Genesis: {report.genesis_hash}", styles["Normal"]),
             Spacer(1, 4 * mm)]
    story.extend(Paragraph(note, styles["Normal"]) for note in report.notes)
    for t in report.tables:
        story += [Spacer(1, 4 * mm), Paragraph(t.title, styles["Heading2"])]
        data = [[*t.key_columns, *t.value_columns]]
        data += [[*r.key, *(fmt(c, v) for c, v in zip(t.value_columns, r.values, strict=True))]
                 for r in t.rows]
        table = PdfTable(data, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONTSIZE", (0, 0), (-1, -1), 7), ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            ("ALIGN", (len(t.key_columns), 1), (-1, -1), "RIGHT")]))
        story.append(table)
    doc.build(story)
    return out.getvalue()
