"""The report as canonical JSON (`report.json`, RFC 8785 bytes) and back.

    {"format": "carbonlab-report/1", "company", "company_name", "year", "template", "gwp",
     "chain_id", "genesis_hash", "notes": [...],
     "tables": [{"name", "title", "key_columns", "value_columns",
                 "rows": [{"key": [...], "values": [...]}]}]}

Masses are tonnes, energy MWh, shares 0..1; a figure with no reading behind it is null.
"""

from __future__ import annotations

from typing import Any

from carbonlab.apps.report.jcs import canonical
from carbonlab.apps.report.model import YEARS, Report, ReportError, Row, Table, Template

FORMAT = "carbonlab-report/1"


def to_json(report: Report) -> dict[str, Any]:
    return {"format": FORMAT, "company": report.company, "company_name": report.company_name,
            "year": report.year, "template": report.template.value, "gwp": report.gwp,
            "chain_id": report.chain_id, "genesis_hash": report.genesis_hash,
            "notes": list(report.notes),
            "tables": [{"name": t.name, "title": t.title, "key_columns": list(t.key_columns),
                        "value_columns": list(t.value_columns),
                        "rows": [{"key": list(r.key), "values": list(r.values)} for r in t.rows]}
                       for t in report.tables]}


def to_bytes(report: Report) -> bytes:
    return canonical(to_json(report))


def _need(obj: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise ReportError(f"{where}.{name}", "missing")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ReportError(f"{where}.{name}", f"has the wrong type ({type(value).__name__})")
    return value


def _strings(obj: Any, name: str, where: str) -> tuple[str, ...]:
    items = _need(obj, name, list, where)
    if not all(isinstance(x, str) for x in items):
        raise ReportError(f"{where}.{name}", "must be a list of strings")
    return tuple(items)


def from_json(obj: Any, where: str = "report.json") -> Report:
    if _need(obj, "format", str, where) != FORMAT:
        raise ReportError(f"{where}.format", f"expected {FORMAT!r}")
    year = _need(obj, "year", int, where)
    if not YEARS[0] <= year <= YEARS[1]:
        raise ReportError(f"{where}.year", f"{year} is not in {YEARS[0]}..{YEARS[1]}")
    try:
        template = Template(_need(obj, "template", str, where))
    except ValueError:
        raise ReportError(f"{where}.template", f"{obj['template']!r} is not a template") from None
    tables = []
    for i, t in enumerate(_need(obj, "tables", list, where)):
        at = f"{where}.tables[{i}]"
        values = _strings(t, "value_columns", at)
        rows = []
        for j, r in enumerate(_need(t, "rows", list, at)):
            key = _strings(r, "key", f"{at}.rows[{j}]")
            vals = _need(r, "values", list, f"{at}.rows[{j}]")
            if len(vals) != len(values) or not all(
                    v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in vals):
                raise ReportError(f"{at}.rows[{j}].values", f"must be {len(values)} numbers or nulls")
            rows.append(Row(key, tuple(vals)))
        tables.append(Table(_need(t, "name", str, at), _need(t, "title", str, at),
                            _strings(t, "key_columns", at), values, tuple(rows)))
    return Report(_need(obj, "company", str, where), _need(obj, "company_name", str, where),
                  year, template, _need(obj, "gwp", str, where),
                  _need(obj, "chain_id", str, where), _need(obj, "genesis_hash", str, where),
                  tuple(tables), _strings(obj, "notes", where))
