"""`report verify` on bundles tampered by hand beyond the figures: the tamperer also rewrites the
manifest's hashes (anyone can, when no verifier's statement pins the manifest), so only the
checks behind the manifest can catch these. Each must be named, never pass, never a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from carbonlab.apps.report.jcs import canonical
from carbonlab.cli import main
from tests.unit.node.query.small_ledger import build as build_ledger

RECORDS = {"allocations": [{"company": "acme", "year": 2023, "quantity_t": 5.0, "issuer": "n2"}]}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("bundle")
    ledger, genesis, records = d / "ledger.sqlite", d / "genesis.json", d / "records.json"
    build_ledger(ledger).genesis.save(genesis)
    records.write_text(json.dumps(RECORDS))
    assert main(["report", "build", "--company", "acme", "--year", "2023", "--template", "eu-mrr",
                 "--ledger", str(ledger), "--records", str(records), "--out", str(d / "r")]) == 0
    return d / "r", genesis


def _reseal(d: Path) -> None:
    m = json.loads((d / "manifest.json").read_text())
    m["files"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())
                  if p.name not in ("manifest.json", "statement.json")}
    (d / "manifest.json").write_bytes(canonical(m))


def _edit(name: str, change: Callable[[Any], None]) -> Callable[[Path], None]:
    def go(d: Path) -> None:
        doc = json.loads((d / name).read_text())
        change(doc)
        (d / name).write_bytes(canonical(doc))
    return go


def _edit_raw(name: str, change: Callable[[Any], None]) -> Callable[[Path], None]:
    """Written with `json.dumps`, which takes integers no IEEE double holds exactly."""
    def go(d: Path) -> None:
        doc = json.loads((d / name).read_text())
        change(doc)
        (d / name).write_text(json.dumps(doc))
    return go


def _xlsx_header(d: Path) -> None:
    wb = load_workbook(d / "report.xlsx")
    wb["report"].cell(1, 2).value = "globex"
    wb.save(d / "report.xlsx")


def _xlsx_extra_sheet(d: Path) -> None:
    wb = load_workbook(d / "report.xlsx")
    wb.create_sheet("corrections").append(["total co2_t", 1.0])
    wb.save(d / "report.xlsx")


TAMPERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "pdf removed": (lambda d: (d / "report.pdf").unlink(),
                    "manifest report.pdf: not in the manifest: every report bundle has it"),
    "xlsx renamed": (lambda d: (d / "report.xlsx").rename(d / "report2.xlsx"),
                     "manifest report.xlsx: not in the manifest: every report bundle has it"),
    "manifest names another company": (_edit("manifest.json", lambda m: m.update(company="globex")),
                                       "manifest manifest.json company: 'globex', report.json says 'acme'"),
    "note changed": (_edit("report.json", lambda r: r.update(notes=["Audited and approved."])),
                     "document report.json notes: ('Audited and approved.',), genesis and the template give"),
    "company name changed": (_edit("report.json", lambda r: r.update(company_name="Other Corp")),
                             "document report.json company_name: 'Other Corp', genesis and the template "
                             "give 'acme'"),
    "table title changed": (_edit("report.json", lambda r: r["tables"][0].update(title="Fake")),
                            "document report.json installations title: 'Fake', the template gives "
                            "'Installations'"),
    "table duplicated": (_edit("report.json", lambda r: r["tables"].append(r["tables"][0])),
                         "document report.json tables: ['installations', 'cems_sources', 'total', "
                         "'allowances', 'installations'], the template gives"),
    "row duplicated": (_edit("report.json", lambda r: r["tables"][0]["rows"].append(
        r["tables"][0]["rows"][0])),
                       "document report.json installations rows: 3 rows, 2 recomputed in another order or "
                       "with other keys (given twice or not recomputed: plant1)"),
    "block header count past the encoding": (
        _edit_raw("proofs.json", lambda p: p["blocks"][0]["header"].update(batch_count=2**64)),
        "proof proofs.blocks[0]: malformed: proofs.blocks[0].header.batch_count: 18446744073709551616 is "
        "above the maximum 18446744073709551615"),
    "xlsx sheet added": (_xlsx_extra_sheet,
                         "document report.xlsx: sheets ['report', 'installations', 'cems_sources', 'total', "
                         "'allowances', 'corrections'], the report gives ['report', 'installations', "
                         "'cems_sources', 'total', 'allowances']"),
    "pdf changed": (lambda d: (d / "report.pdf").write_bytes((d / "report.pdf").read_bytes().replace(
        b"acme", b"acmf")), "document report.pdf: is not the rendering of report.json's figures"),
    "xlsx header changed": (_xlsx_header, "document report.xlsx!report row 1: ('company', 'globex'), "
                                          "the report gives ('company', 'acme')"),
}
UNUSABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "year far away": (_edit("report.json", lambda r: r.update(year=99999)),
                      "report.json.year: 99999 is not in 1990..2200"),
    "proofs nested too deeply": (lambda d: (d / "proofs.json").write_text("[" * 100_000),
                                 "proofs.json: not readable JSON (nested too deeply to be read)"),
    "records give a key twice": (lambda d: (d / "records.json").write_text(
        '{"allocations":[{"company":"acme","year":2023,"quantity_t":50,"quantity_t":5,"issuer":"n2"}]}'),
        "records.json: not readable JSON (the key 'quantity_t' is given twice in one object)"),
    "proofs a FIFO": (lambda d: ((d / "proofs.json").unlink(), os.mkfifo(d / "proofs.json")),
                      "proofs.json: not a regular file"),
    "statement a directory": (lambda d: (d / "statement.json").mkdir(), "statement.json: not a regular file"),
    "report not UTF-8": (lambda d: (d / "report.json").write_bytes(b"\xff\xfe{}"),
                         "report.json: not readable JSON (not UTF-8 text (byte 0)"),
    "xlsx a zip bomb": (lambda d: _zip_bomb(d / "report.xlsx"),
                        "report.xlsx: unzips to 3,489,660,928 bytes, more than the 268,435,456 a report "
                        "workbook may have (a zip bomb?)"),
    "report larger than its cap": (lambda d: os.truncate(d / "report.json", 64 * 2**20 + 1),
                                   "report.json: 67,108,865 bytes, more than the 67,108,864 a bundle "
                                   "file may have"),
    "pdf a symlink": (lambda d: ((d / "report.pdf").unlink(),
                                 (d / "report.pdf").symlink_to(d / "report.json")),
                      "report.pdf: not a regular file"),
}


def _zip_bomb(path: Path) -> None:
    """The workbook whose central directory declares each of its 13 entries 256 MiB unzipped, as a zip bomb
    does (the bytes are not there: only the declaration is read)."""
    import struct

    raw = bytearray(path.read_bytes())
    each = 256 * 2**20
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        struct.pack_into("<I", raw, at + 24, each)          # uncompressed size
        at = raw.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(raw))


def _verify(bundle: tuple[Path, Path], tmp_path: Path, tamper: Callable[[Path], None]) -> int:
    d = tmp_path / "t"
    shutil.copytree(bundle[0], d)
    tamper(d)
    if (d / "proofs.json").is_file():
        _reseal(d)
    return main(["report", "verify", str(d), "--genesis", str(bundle[1])])


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_tampered_and_resealed_bundle_is_named(case: str, bundle: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _verify(bundle, tmp_path, TAMPERS[case][0]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(TAMPERS[case][1]) for line in lines), lines
    assert lines[-1].startswith("FAILED:")


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_an_unusable_bundle_file_is_refused_by_name(case: str, bundle: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _verify(bundle, tmp_path, UNUSABLE[case][0]) == 2
    assert f"carbonlab: error: {UNUSABLE[case][1]}" in capsys.readouterr().err


def test_a_manifest_holding_an_integer_no_double_holds_is_named(bundle: tuple[Path, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "t"
    shutil.copytree(bundle[0], d)
    _edit_raw("manifest.json", lambda m: m.update(year=2**64))(d)
    assert main(["report", "verify", str(d), "--genesis", str(bundle[1])]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "manifest manifest.json: is not in RFC 8785 canonical form" in lines
    assert "manifest manifest.json year: 18446744073709551616, report.json says 2023" in lines


def test_the_untouched_bundle_still_verifies(bundle: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _verify(bundle, tmp_path, lambda d: None) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ok: 3 blocks")


def test_a_bundle_of_the_earlier_manifest_format_is_refused_by_name(
        bundle: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "t"
    shutil.copytree(bundle[0], d)
    _edit_raw("manifest.json", lambda m: m.update(format="carbonlab-report-manifest/1"))(d)
    assert main(["report", "verify", str(d), "--genesis", str(bundle[1])]) == 2
    err = capsys.readouterr().err
    assert "manifest.json: a carbonlab-report-manifest/1 bundle, made by an earlier carbonlab" in err
    assert "verify it with that version" in err
