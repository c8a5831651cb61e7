"""The one-click report on a small real ledger: totals equal the query module's, every template
verifies offline, and each tamper case is caught and named."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from carbonlab.apps.compliance.jsonrecords import JsonRecords
from carbonlab.apps.report import cells
from carbonlab.apps.report.build import build
from carbonlab.apps.report.model import ReportError, Template
from carbonlab.apps.report.sources import LedgerFile
from carbonlab.apps.report.verify import Kind, verify
from carbonlab.node import codec
from carbonlab.node.gwp import GwpSet
from carbonlab.node.model import Reading
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from tests.unit.node.factories import Kit
from tests.unit.node.query.small_ledger import M1, M3, kg
from tests.unit.node.query.small_ledger import build as build_ledger

YEAR = 2023
RECORDS = {
    "allocations": [{"company": "acme", "year": YEAR, "quantity_t": 0.5, "issuer": "n2"}],
    "transfers": [{"seller": "globex", "buyer": "acme", "year": YEAR, "quantity_t": 0.25,
                   "price_per_t": 80.0, "currency": "CNY", "settled_by": "n3"}],
    "statements": [{"company": "acme", "year": YEAR, "emissions_t": 0.1, "basis": "co2",
                    "gwp_set": None, "verifier": "n4", "manifest_hash": "ab" * 32}],
}


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, Kit]:
    path = tmp_path / "ledger.sqlite"
    return path, build_ledger(path)


def _build(ledger: tuple[Path, Kit], out: Path, template: Template = Template.CN_POWER,
           records: JsonRecords | None = None, gwp: GwpSet = GwpSet.AR5) -> None:
    source = LedgerFile(ledger[0])
    try:
        build(source, company="acme", year=YEAR, template=template, gwp=gwp, out=out, records=records)
    finally:
        source.close()


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_bytes())


def _figure(report: dict, table: str, column: str, key: list[str] | None = None) -> float:
    t = next(t for t in report["tables"] if t["name"] == table)
    row = next(r for r in t["rows"] if key is None or r["key"] == key)
    return row["values"][t["value_columns"].index(column)]


@pytest.mark.parametrize("template", list(Template))
def test_every_template_builds_and_verifies(ledger: tuple[Path, Kit], tmp_path: Path,
                                            template: Template) -> None:
    first, out = tmp_path / "first", tmp_path / "report"
    _build(ledger, first, template, JsonRecords.parse(RECORDS, "records"))
    digest = hashlib.sha256((first / "manifest.json").read_bytes()).hexdigest()
    signed = {**RECORDS, "statements": [{**RECORDS["statements"][0], "manifest_hash": digest}]}
    _build(ledger, out, template, JsonRecords.parse(signed, "records"))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "proofs.json", "records.json",
                                                     "report.json", "report.pdf", "report.xlsx",
                                                     "statement.json"]
    res = verify(out, ledger[1].genesis)
    # a JSON records file's statement is unsigned (the signed one comes from the chain:
    # test_report_chain_records.py); everything else verifies
    assert [(p.kind, p.where) for p in res.problems] == [(Kind.SIGNATURE, "statement.json")], res.problems
    assert res.notes[0].startswith("records.json: unproven")
    assert res.readings == len(M1) + len(M3)
    assert res.figures > 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_totals_equal_the_query_modules(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out, Template.CN_POWER, JsonRecords.parse(RECORDS, "records"))
    report = _report(out)
    since, until = cells.year_bounds(YEAR)
    with open_source(ledger[0]) as src:
        year = src.query(EmissionsFilter(company="acme", since=since, until=until), period=Period.YEAR,
                         level=Level.COMPANY).rows
        units = src.query(EmissionsFilter(company="acme", since=since, until=until), period=Period.YEAR,
                          level=Level.UNIT).rows
    assert len(year) == 1
    assert _figure(report, "total", "co2_t") == pytest.approx(year[0].co2_kg / 1000, rel=1e-12)
    assert _figure(report, "total", "co2_t") == pytest.approx(kg(*M1, *M3) / 1000, rel=1e-12)
    assert _figure(report, "total", "readings") == year[0].readings == 7
    for u in units:
        assert _figure(report, "unit_year", "co2_t", [u.plant, u.unit]) == \
            pytest.approx(u.co2_kg / 1000, rel=1e-12)
    nov = _figure(report, "unit_monthly", "co2_t", ["plant1", "unit1", "2023-11"])
    assert nov == pytest.approx(kg(*M1) / 1000, rel=1e-12)
    # the allowance account: 0.5 allocated + 0.25 bought, against the CO2 total
    assert _figure(report, "allowances", "t", ["holdings"]) == 0.75
    assert _figure(report, "allowances", "t", ["balance"]) == pytest.approx(0.75 - kg(*M1, *M3) / 1000)


def test_ghg_scope1_names_its_gwp_set(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out, Template.GHG_SCOPE1, gwp=GwpSet.AR6)
    report = _report(out)
    assert report["gwp"] == "AR6"
    assert _figure(report, "by_gas", "gwp100", ["ch4"]) == 29.8
    assert _figure(report, "total", "co2e_t") == pytest.approx(kg(*M1, *M3) / 1000, rel=1e-12)
    assert verify(out, ledger[1].genesis).ok


def test_a_changed_xlsx_number_is_named(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out)
    wb = load_workbook(out / "report.xlsx")
    ws = wb["total"]
    col = [c.value for c in ws[1]].index("co2_t") + 1
    ws.cell(row=2, column=col).value = ws.cell(row=2, column=col).value + 1.0
    wb.save(out / "report.xlsx")
    res = verify(out, ledger[1].genesis)
    assert not res.ok
    named = [str(p) for p in res.problems if p.kind is Kind.FIGURE]
    assert named == [next(n for n in named if "report.xlsx total/total/co2_t" in n)]
    assert any(p.kind is Kind.MANIFEST and p.where == "report.xlsx" for p in res.problems)


def test_a_changed_reading_in_a_proof_is_named(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out)
    bundle = json.loads((out / "proofs.json").read_text())
    entry = bundle["blocks"][0]["batches"][0]
    wire = codec.decode(bytes.fromhex(entry["readings"][1]))
    reading = Reading.from_wire(wire)
    assert (reading.meter_id, reading.seq) == ("m1", 2)
    wire[wire.index(reading.co2_kg)] = reading.co2_kg * 1.01
    entry["readings"][1] = codec.encode(wire).hex()
    (out / "proofs.json").write_text(json.dumps(bundle))
    res = verify(out, ledger[1].genesis)
    readings = [p for p in res.problems if p.kind is Kind.READING]
    assert [p.where for p in readings] == ["m1/2"]
    assert "not the reading the gateway signed" in readings[0].detail
    # its figures are then not proven: the totals no longer recompute
    assert any(p.kind is Kind.FIGURE and "total/total/co2_t" in p.where for p in res.problems)


def test_a_dropped_certificate_signature_is_named(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out)
    bundle = json.loads((out / "proofs.json").read_text())
    cert = bundle["blocks"][1]["certificate"]
    dropped = cert["signatures"].pop(0)[0]
    (out / "proofs.json").write_text(json.dumps(bundle))
    res = verify(out, ledger[1].genesis)
    sigs = [p for p in res.problems if p.kind is Kind.SIGNATURE]
    assert [p.where for p in sigs] == ["block 2 certificate"]
    q = ledger[1].genesis.quorum
    assert f"{q - 1} signatures, {q} needed" in sigs[0].detail
    assert dropped not in [m for m, _ in cert["signatures"]]


def test_a_bad_signature_names_the_member(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out)
    bundle = json.loads((out / "proofs.json").read_text())
    pair = bundle["blocks"][0]["certificate"]["signatures"][1]
    pair[1] = ("00" if pair[1][:2] != "00" else "11") + pair[1][2:]
    (out / "proofs.json").write_text(json.dumps(bundle))
    sigs = [p for p in verify(out, ledger[1].genesis).problems if p.kind is Kind.SIGNATURE]
    assert len(sigs) == 1
    assert f"bad signature by {pair[0]!r}" in sigs[0].detail


def test_a_reading_left_out_of_a_carried_batch_is_named(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out)
    bundle = json.loads((out / "proofs.json").read_text())
    bundle["blocks"][0]["batches"][0]["used"].remove(2)
    (out / "proofs.json").write_text(json.dumps(bundle))
    res = verify(out, ledger[1].genesis)
    assert any(p.kind is Kind.READING and p.where == "m1/3" and "leaves out" in p.detail
               for p in res.problems)


def test_bad_input_is_refused_by_name_and_writes_nothing(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    with pytest.raises(ReportError, match="--company: unknown company 'nobody'"):
        _build_company(ledger, out, "nobody")
    assert list(tmp_path.iterdir()) == [ledger[0]] or not out.exists()
    assert not out.exists()
    out.mkdir()
    with pytest.raises(ReportError, match="--out"):
        _build(ledger, out)
    with pytest.raises(ReportError, match="--ledger"):
        LedgerFile(tmp_path / "missing.sqlite")


def _build_company(ledger: tuple[Path, Kit], out: Path, company: str) -> None:
    source = LedgerFile(ledger[0])
    try:
        build(source, company=company, year=YEAR, template=Template.EU_MRR, gwp=GwpSet.AR5, out=out)
    finally:
        source.close()


def test_checking_in_processes_finds_what_one_process_finds(ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    out = tmp_path / "report"
    _build(ledger, out, Template.EU_MRR, JsonRecords.parse(RECORDS, "records"))
    (out / "statement.json").unlink()       # made over another manifest (tested apart)
    one, three = verify(out, ledger[1].genesis, workers=1), verify(out, ledger[1].genesis, workers=3)
    assert one.ok
    assert three.ok
    assert (three.blocks, three.batches, three.readings, three.figures) == \
        (one.blocks, one.batches, one.readings, one.figures) == (3, 4, 7, one.figures)
    bundle = json.loads((out / "proofs.json").read_text())
    bundle["blocks"][2]["certificate"]["signatures"].pop()
    bundle["blocks"].append(bundle["blocks"][1])        # block 2's reading proven twice
    (out / "proofs.json").write_text(json.dumps(bundle))
    one, three = verify(out, ledger[1].genesis, workers=1), verify(out, ledger[1].genesis, workers=3)
    assert [str(p) for p in three.problems] == [str(p) for p in one.problems]
    assert any(p.kind is Kind.SIGNATURE and p.where == "block 3 certificate" for p in one.problems)
    assert any(p.kind is Kind.READING and p.where == "m1/4" and p.detail == "used twice"
               for p in one.problems)


def test_a_rebuild_gives_the_same_manifest_and_the_statement_is_checked_against_it(
        ledger: tuple[Path, Kit], tmp_path: Path) -> None:
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _build(ledger, first, Template.CN_POWER, JsonRecords.parse(RECORDS, "records"))
    _build(ledger, second, Template.CN_POWER, JsonRecords.parse(RECORDS, "records"))
    for name in ("manifest.json", "report.pdf", "report.xlsx", "report.json", "proofs.json", "records.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # the statement in RECORDS was made over another manifest: named
    problems = verify(first, ledger[1].genesis).problems
    assert [(p.kind, p.where) for p in problems] == [(Kind.SIGNATURE, "statement.json"),
                                                     (Kind.RECORDS, "statement.json")]
    assert "signed off the report whose manifest hashes to abababab" in problems[1].detail
    # a statement over this report's manifest hash verifies
    digest = hashlib.sha256((first / "manifest.json").read_bytes()).hexdigest()
    signed = {**RECORDS, "statements": [{**RECORDS["statements"][0], "manifest_hash": digest}]}
    _build(ledger, third, Template.CN_POWER, JsonRecords.parse(signed, "records"))
    assert (third / "manifest.json").read_bytes() == (first / "manifest.json").read_bytes()
    assert [p.kind for p in verify(third, ledger[1].genesis).problems] == [Kind.SIGNATURE]   # unsigned
