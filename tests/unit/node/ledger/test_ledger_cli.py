"""`carbonlab ledger verify|proof|check-proof|show` on real files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from tests.unit.node.factories import Kit, make_kit

REPO = Path(__file__).resolve().parents[4]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Kit, Path, Path]:
    kit = make_kit()
    ledger_path, genesis_path = tmp_path / "ledger.db", tmp_path / "genesis.json"
    kit.genesis.save(genesis_path)
    with Ledger.open(ledger_path, kit.genesis) as ledger:
        for h in range(1, 4):
            requests = [kit.next_batch("gw1").encode(), kit.next_batch("gw2").encode()]
            ledger.commit(*kit.certified(h, requests))
        ledger.commit(*kit.certified(4, [b"\x00"]))
    return kit, ledger_path, genesis_path


def test_verify_ok_and_tampered(files: tuple[Kit, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, ledger, genesis = files
    assert main(["ledger", "verify", str(ledger), "--genesis", str(genesis)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 4 blocks, 9 readings verified"
    db = sqlite3.connect(ledger)
    db.execute("UPDATE readings SET flow_m3_s = 1.0 WHERE meter_id = 'm2' AND seq = 2")
    db.commit()
    db.close()
    assert main(["ledger", "verify", str(ledger), "--genesis", str(genesis)]) == 1
    out = capsys.readouterr().out
    assert "height 2: reading m2/2 in the readings table differs: flow_m3_s 1.0" in out
    assert out.strip().endswith("FAILED: 1 problem(s) in 4 blocks")


def test_proof_round_trip_through_files(files: tuple[Kit, Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, ledger, genesis = files
    proof = tmp_path / "proof.json"
    assert main(["ledger", "proof", str(ledger), "--meter", "m3", "--seq", "2",
                 "--out", str(proof)]) == 0
    assert main(["ledger", "check-proof", str(proof), "--genesis", str(genesis)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: reading m3/2 (")
    assert "is in block 2, certified by n1, n2, n3" in out
    data = json.loads(proof.read_text())
    data["reading"]["co2_kg"] += 0.5
    proof.write_text(json.dumps(data))
    assert main(["ledger", "check-proof", str(proof), "--genesis", str(genesis)]) == 1
    assert capsys.readouterr().out.startswith("FAILED: reading m3/2 is not leaf")


def test_usage_errors_exit_2(files: tuple[Kit, Path, Path], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    _, ledger, genesis = files
    assert main(["ledger", "proof", str(ledger), "--meter", "m9", "--seq", "1"]) == 2
    assert "no accepted reading m9/1" in capsys.readouterr().err
    assert main(["ledger", "verify", str(tmp_path / "nope.db"), "--genesis", str(genesis)]) == 2
    assert "no such ledger file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert main(["ledger", "check-proof", str(tmp_path / "bad.json"), "--genesis", str(genesis)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_show_head_and_block(files: tuple[Kit, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    kit, ledger, _ = files
    assert main(["ledger", "show", str(ledger)]) == 0
    head = json.loads(capsys.readouterr().out)
    assert head["height"] == 4
    assert head["readings"] == 9
    assert head["rejections"] == 1
    assert head["genesis_hash"] == kit.genesis.hash.hex()
    assert main(["ledger", "show", str(ledger), "--height", "4"]) == 0
    block = json.loads(capsys.readouterr().out)
    assert block["batches"][0]["reason"] == "malformed"
    assert block["certificate"]["seq"] == 4


def test_installed_command_runs_verify(files: tuple[Kit, Path, Path]) -> None:
    _, ledger, genesis = files
    command = Path(sys.executable).parent / "carbonlab"
    result = subprocess.run([str(command), "ledger", "verify", str(ledger), "--genesis", str(genesis)],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: 4 blocks, 9 readings verified"


def test_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "bench", "--blocks", "3", "--batches", "2", "--readings", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 blocks x 2 batches x 2 readings = 12 readings" in out
    assert "(ok: 3 blocks, 12 readings verified)" in out
    assert main(["ledger", "bench", "--blocks", "0"]) == 2
