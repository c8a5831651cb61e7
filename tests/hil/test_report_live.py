"""Issue 14, item 3's last test: a report built on a live lab after the rig's meters ran
verifies offline with genesis alone, and each tampering is named.

On the session's shared lab (tests/sharedlab.py: four members n1 power company, n2 emission
management, n3 verifier, n4 trading centre; genco-a represented by n1; one gateway, two emulated
meters whose readings the lab has been committing since it came up). Through the chain, as the
organisations would: n2 allocates to genco-a for this year, n1 surrenders part of it; the report
is built from n1's API (the readings so far); n3 states over its manifest's SHA-256; the
statement record, as committed with its proof, is written into the bundle (`report statement`);
`report verify` with genesis alone passes. Then copies of the bundle are tampered: one XLSX
number, one reading in a proof, one certificate signature dropped, each named by verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from carbonlab.cli import main
from carbonlab.node import codec
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Reading
from tests.sharedlab import SharedLab

pytestmark = [pytest.mark.hil, pytest.mark.slow]
COMPANY = "genco-a"


def _sign(lab: SharedLab, action: str, member: str, *args: str) -> None:
    assert main(["allowances", action, "--node", lab.api_url(member), "--member", member,
                 "--key", str(lab.members[member].key), *args]) == 0


def _verify(d: Path, genesis: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["report", "verify", str(d), "--genesis", str(genesis)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.timeout(600)
def test_a_report_built_on_the_live_lab_verifies_offline_and_tampering_is_named(
        shared_lab: SharedLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab, genesis_path = shared_lab, shared_lab.genesis_path
    genesis = Genesis.load(genesis_path)
    year = dt.datetime.now(dt.UTC).year
    stated = httpx.get(f"{lab.api_url('n1')}/v1/allowances/history",
                       params={"company": COMPANY, "year": year, "kind": "statement"}, timeout=30).json()
    if any(e["status"] == "committed" for e in stated["records"]):
        pytest.skip(f"the lab already holds the verifier's statement for {COMPANY} {year} (one per "
                    "company-year): a lab reused with --shared-lab-dir")
    _sign(lab, "allocate", "n2", "--company", COMPANY, "--year", str(year), "--quantity-t", "1000")
    _sign(lab, "surrender", "n1", "--company", COMPANY, "--year", str(year), "--quantity-t", "7")
    out = tmp_path / "report"
    assert main(["report", "build", "--company", COMPANY, "--year", str(year), "--template", "cn-power",
                 "--node", lab.api_url("n1"), "--genesis", str(genesis_path), "--out", str(out)]) == 0
    built = capsys.readouterr().out
    assert " 0 readings" not in built, built           # the meters ran before
    assert (out / "records_proofs.json").is_file()
    report = json.loads((out / "report.json").read_text())
    (total,) = next(t for t in report["tables"] if t["name"] == "total")["rows"]
    digest = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    _sign(lab, "statement", "n3", "--company", COMPANY, "--year", str(year),
          "--emissions-t", str(total["values"][0]), "--manifest-hash", digest)
    # the committed statement with its proof, read from another member's API (the same chain)
    assert main(["report", "statement", str(out), "--node", lab.api_url("n2"),
                 "--genesis", str(genesis_path)]) == 0
    code, lines = _verify(out, genesis_path, capsys)
    assert code == 0, lines
    assert lines[-1].startswith("ok:"), lines
    assert not any(line.startswith("note:") for line in lines), lines

    # one XLSX number
    d = tmp_path / "xlsx"
    shutil.copytree(out, d)
    wb = load_workbook(d / "report.xlsx")
    ws = wb["total"]
    ws.cell(row=2, column=2).value = ws.cell(row=2, column=2).value + 1.0      # co2_t of the total
    wb.save(d / "report.xlsx")
    code, lines = _verify(d, genesis_path, capsys)
    assert code == 1
    assert any(line.startswith("figure report.xlsx total/total/co2_t: ") for line in lines), lines

    # one reading in a proof
    d = tmp_path / "reading"
    shutil.copytree(out, d)
    bundle = json.loads((d / "proofs.json").read_text())
    entry = bundle["blocks"][0]["batches"][0]
    k = entry["used"][0]
    wire = codec.decode(bytes.fromhex(entry["readings"][k]))
    reading = Reading.from_wire(wire)
    wire[wire.index(reading.co2_kg)] = reading.co2_kg * 1.01
    entry["readings"][k] = codec.encode(wire).hex()
    (d / "proofs.json").write_text(json.dumps(bundle))
    code, lines = _verify(d, genesis_path, capsys)
    assert code == 1
    assert f"reading {reading.meter_id}/{reading.seq}: changed: it is not the reading the gateway signed " \
           f"(block {bundle['blocks'][0]['header']['height']} batch " in "\n".join(lines), lines

    # one certificate signature dropped
    d = tmp_path / "certificate"
    shutil.copytree(out, d)
    bundle = json.loads((d / "proofs.json").read_text())
    block = bundle["blocks"][-1]
    del block["certificate"]["signatures"][genesis.quorum - 1:]      # one short of 2f + 1
    (d / "proofs.json").write_text(json.dumps(bundle))
    code, lines = _verify(d, genesis_path, capsys)
    assert code == 1
    assert f"signature block {block['header']['height']} certificate: {genesis.quorum - 1} signatures, " \
           f"{genesis.quorum} needed" in lines, lines
