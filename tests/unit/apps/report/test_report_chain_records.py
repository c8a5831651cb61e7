"""The report's allowance records and the verifier's statement from the chain (issue 14 item 3's
bundle, with item 1's records): proven with their blocks, signed by genesis members of the
right role, and every forgery named by `report verify` with genesis alone.

The ledger (`chain_ledger.py`) is real: SQLite, real Ed25519 signatures of gateways, members and
certificates, records executed by the allowance contract through `Ledger.commit`."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carbonlab.apps.report.jcs import canonical
from carbonlab.cli import main
from carbonlab.node import merkle
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.render import certificate_json, header_json
from tests.unit.apps.report import chain_ledger

BUILD = ["report", "build", "--company", "acme", "--year", "2023", "--template", "eu-mrr"]


@pytest.fixture(scope="module")
def stated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A report built from the chain, the verifier's statement over its manifest committed, the
    report built again (same manifest) with the signed statement: (bundle, genesis, ledger)."""
    d = tmp_path_factory.mktemp("chain")
    ledger, genesis = d / "ledger.sqlite", d / "genesis.json"
    kit = chain_ledger.build(ledger)
    kit.genesis.save(genesis)
    assert main([*BUILD, "--ledger", str(ledger), "--out", str(d / "before")]) == 0
    digest = hashlib.sha256((d / "before" / "manifest.json").read_bytes()).hexdigest()
    chain_ledger.state(ledger, kit, digest, 0.0123)
    assert main([*BUILD, "--ledger", str(ledger), "--out", str(d / "r")]) == 0
    assert (d / "r" / "manifest.json").read_bytes() == (d / "before" / "manifest.json").read_bytes()
    return d / "r", genesis, ledger


def _verify(bundle: Path, genesis: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["report", "verify", str(bundle), "--genesis", str(genesis)])
    return code, capsys.readouterr().out.splitlines()


def test_records_and_the_signed_statement_from_the_chain_verify(
        stated: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    bundle, genesis, _ = stated
    records = json.loads((bundle / "records.json").read_text())
    assert records["allocations"] == [{"company": "acme", "year": 2023, "quantity_t": 100.0, "issuer": "n3"}]
    assert [t["settled_by"] for t in records["transfers"]] == ["n7"]
    assert json.loads((bundle / "statement.json").read_text())["format"] == "carbonlab-report-statement/1"
    report = json.loads((bundle / "report.json").read_text())
    (allowances,) = [t for t in report["tables"] if t["name"] == "allowances"]
    values = {row["key"][0]: row["values"][0] for row in allowances["rows"]}
    assert (values["allocated"], values["sold"], values["holdings"], values["surrendered"]) == \
        (100, 10, 90, 5)
    code, lines = _verify(bundle, genesis, capsys)
    assert code == 0, lines
    assert not any(line.startswith("note:") for line in lines)


def _statement_of(ledger: Path, genesis_path: Path, height: int, idx: int) -> dict[str, Any]:
    from carbonlab.node.genesis import Genesis

    with Ledger.open(ledger, Genesis.load(genesis_path)) as chain:
        block = next(iter(chain.blocks(height, height)))
    requests = block.proposal.requests
    return {"format": "carbonlab-report-statement/1", "chain_id": block.header.chain_id,
            "header": header_json(block.header), "certificate": certificate_json(block.certificate),
            "index": idx, "path": [h.hex() for h in merkle.proof(requests, idx)],
            "record": requests[idx].hex()}


def _reseal(d: Path) -> None:
    m = json.loads((d / "manifest.json").read_text())
    m["files"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())
                  if p.name not in ("manifest.json", "statement.json")}
    (d / "manifest.json").write_bytes(canonical(m))


def _edit(name: str, change: Callable[[Any], None]) -> Callable[[Path, Path], None]:
    def go(d: Path, ledger: Path) -> None:
        doc = json.loads((d / name).read_text())
        change(doc)
        (d / name).write_bytes(canonical(doc))
    return go


def _flip_record_byte(doc: dict[str, Any]) -> None:
    raw = bytearray.fromhex(doc["record"])
    raw[-70] ^= 1                     # inside the body, before the signature
    doc["record"] = raw.hex()


def _drop_signature(doc: dict[str, Any]) -> None:
    doc["certificate"]["signatures"].pop()


def _non_verifier(d: Path, ledger: Path) -> None:
    # n1 (a power company) signed a statement; the contract refused it, but its block certifies it
    (d / "statement.json").write_bytes(canonical(_statement_of(ledger, d.parent / "genesis.json", 4, 3)))


TAMPERS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "statement unsigned": (lambda d, _: (d / "statement.json").write_text(json.dumps(
        {"company": "acme", "year": 2023, "emissions_t": 1.0, "basis": "co2", "gwp_set": None,
         "verifier": "n5", "manifest_hash": hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()})),
        "signature statement.json: unsigned: not a verifier's statement record committed on the chain"),
    "statement by a non-verifier": (_non_verifier, "signature statement n1/2 (block 4): a statement is made "
                                                   "by a verifier member; 'n1' is power-company"),
    "statement forged": (_edit("statement.json", _flip_record_byte),
                         "proof statement.json: not a request of block 5 (Merkle path to batches_root fails"),
    "statement certificate short": (_edit("statement.json", _drop_signature),
                                    "signature block 5 certificate: 4 signatures, 5 needed"),
    "records certificate short": (_edit("records_proofs.json", lambda p: _drop_signature(p["blocks"][0])),
                                  "signature block 4 certificate: 4 signatures, 5 needed"),
    "records.json allocation raised": (
        _edit("records.json", lambda r: r["allocations"][0].update(quantity_t=1000.0)),
        "records records.json allocations: [{'company': 'acme', 'year': 2023, 'quantity_t': 1000.0, "
        "'issuer': 'n3'}] stated; the proven records give [{'company': 'acme', 'year': 2023, "
        "'quantity_t': 100.0"),
    "statement over another report": (
        _edit("records.json", lambda r: r["surrenders"].clear()),
        "records statement.json statement n5/1: the verifier signed off the report whose manifest "
        "hashes to "),
    "records proofs name another chain": (
        _edit("records_proofs.json", lambda p: p.update(chain_id="some-other-chain")),
        "proof records_proofs.json chain_id: 'some-other-chain', the genesis given says"),
    "records proofs name another genesis": (
        _edit("records_proofs.json", lambda p: p.update(genesis_hash="00" * 32)),
        f"proof records_proofs.json genesis_hash: '{'00' * 32}', the genesis given says"),
    "statement names another chain": (
        _edit("statement.json", lambda p: p.update(chain_id="some-other-chain")),
        "signature statement.json chain_id: 'some-other-chain', the genesis given says"),
    "record forged": (_edit("records_proofs.json", lambda p: _flip_record_byte(p["blocks"][0]["records"][0])),
                      "proof block 4 record 0: not a request of block 4"),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_forged_record_or_statement_is_named(case: str, stated: tuple[Path, Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bundle, genesis, ledger = stated
    d = tmp_path / "t"
    shutil.copytree(bundle, d)
    shutil.copy(genesis, tmp_path / "genesis.json")
    TAMPERS[case][0](d, ledger)
    _reseal(d)        # the tamperer rewrites the manifest (the statement then names it, too)
    code, lines = _verify(d, genesis, capsys)
    assert code == 1, lines
    assert any(line.startswith(TAMPERS[case][1]) for line in lines), lines


def test_records_from_a_json_file_are_noted_unproven(stated: tuple[Path, Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bundle, genesis, ledger = stated
    records = tmp_path / "records.json"
    shutil.copy(bundle / "records.json", records)
    assert main([*BUILD, "--ledger", str(ledger), "--records", str(records),
                 "--out", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "r" / "records_proofs.json").exists()
    code, lines = _verify(tmp_path / "r", genesis, capsys)
    assert code == 0, lines
    assert "note: records.json: unproven: the allowance records come from a JSON records file, not from " \
           "the chain; the allowance figures rest on that file alone" in lines


def test_the_statement_committed_after_a_build_is_written_into_its_directory(
        stated: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`report statement DIR`: the verifier's flow when rebuilding would not give the same
    manifest (a live chain): the report built before the statement gets it, with its proof."""
    bundle, genesis, ledger = stated
    d = tmp_path / "before"
    shutil.copytree(bundle.parent / "before", d)
    assert not (d / "statement.json").exists()
    code, lines = _verify(d, genesis, capsys)
    assert code == 0, lines
    assert main(["report", "statement", str(d), "--ledger", str(ledger)]) == 0
    assert (d / "statement.json").read_bytes() == (bundle / "statement.json").read_bytes()
    code, lines = _verify(d, genesis, capsys)
    assert code == 0, lines
    (d / "manifest.json").write_text('{"company": ["acme"], "year": 2023}')
    assert main(["report", "statement", str(d), "--ledger", str(ledger)]) == 2
    assert "DIR: " in capsys.readouterr().err
