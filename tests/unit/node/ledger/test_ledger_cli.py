"""`carbonlab ledger verify|proof|check-proof|show` on real files."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from carbonlab.bench.ledgerbench import LedgerFigures, best_of
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
    assert main(["ledger", "bench", "--blocks", "3", "--batches", "2", "--readings", "2",
                 "--baseline", "none"]) == 0
    out = capsys.readouterr().out
    assert "3 blocks x 2 batches x 2 readings = 12 readings" in out
    assert "verify: ok: 3 blocks, 12 readings verified" in out
    assert "this machine, same run: Ed25519" in out
    assert main(["ledger", "bench", "--blocks", "0"]) == 2


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="the before-figure needs a git checkout")
def test_bench_measures_the_baseline_commit_in_the_same_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "bench", "--blocks", "2", "--batches", "2", "--readings", "2",
                 "--baseline", "HEAD", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["before"].startswith("HEAD at ")
    assert [p["phase"] for p in result["phases"]] == ["contract", "precheck", "commit", "commit_cold",
                                                      "verify"]
    for phase in result["phases"]:
        assert phase["readings_per_s"] > 0
        assert phase["limit_readings_per_s"] > 0
        if phase["phase"] in ("precheck", "commit_cold") and phase["before_readings_per_s"] is None:
            continue                         # a baseline from before that phase: no before-figure
        assert phase["before_readings_per_s"] > 0
        assert phase["speedup"] > 0
    assert result["ed25519_verify_per_s"] > 0
    assert result["fsync_ms"] > 0
    assert main(["ledger", "bench", "--blocks", "1", "--baseline", "no-such-ref-h17"]) == 0
    assert "not measured: no git checkout with 'no-such-ref-h17'" in capsys.readouterr().out


def test_bench_alternates_rounds_and_keeps_the_best_of_each_phase(
        capsys: pytest.CaptureFixture[str]) -> None:
    fast, slow = (LedgerFigures(1.0, 2.0, 3.0, 0.5, 1.5, 2.5, True, "ok"),
                  LedgerFigures(4.0, 1.0, 5.0, 0.4, 9.0, 1.0, True, "ok"))
    assert best_of([fast, slow]) == LedgerFigures(1.0, 1.0, 3.0, 0.4, 1.5, 1.0, True, "ok")
    with_precheck = dataclasses.replace(slow, precheck_s=0.7, precheck_cpu_s=0.6, commit_cold_s=2.0)
    best = best_of([fast, with_precheck, dataclasses.replace(with_precheck, precheck_s=0.3)])
    assert (best.precheck_s, best.precheck_cpu_s, best.commit_cold_s) == (0.3, 0.6, 2.0)
    assert best_of([fast, slow]).precheck_s is None          # no run had the phase
    failed = LedgerFigures(9.0, 9.0, 9.0, 9.0, 9.0, 9.0, False, "FAILED: 1 problem(s) in 1 blocks")
    assert best_of([fast, failed]).verify_ok is False
    assert main(["ledger", "bench", "--blocks", "2", "--batches", "2", "--readings", "2",
                 "--baseline", "none", "--rounds", "2"]) == 0
    assert "verify: ok: 2 blocks, 8 readings verified" in capsys.readouterr().out
    assert main(["ledger", "bench", "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err


def cut_copy(ledger: Path, out: Path, keep: int) -> Path:
    """A copy of the ledger without its blocks above `keep` (block 4 holds only a rejection,
    so the contract state needs no rewrite)."""
    src, dst = sqlite3.connect(ledger), sqlite3.connect(out)
    src.backup(dst)
    src.close()
    for table in ("blocks", "batches", "readings"):
        dst.execute(f"DELETE FROM {table} WHERE height > ?", (keep,))
    dst.commit()
    dst.close()
    return out


@pytest.fixture
def head_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A real HTTP server on 127.0.0.1 answering GET /v1/head with what the test puts in it."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if body is not None else b'{"error": "not found"}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_verify_against_a_signed_head_file_or_url(files: tuple[Kit, Path, Path], tmp_path: Path,
                                                  head_server: tuple[str, dict[str, bytes]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, ledger, genesis = files
    head = tmp_path / "head.json"
    assert main(["ledger", "head", str(ledger), "--out", str(head)]) == 0
    assert json.loads(head.read_text())["height"] == 4
    cut = cut_copy(ledger, tmp_path / "cut.db", keep=3)
    assert main(["ledger", "verify", str(cut), "--genesis", str(genesis)]) == 0
    assert "without --head" in capsys.readouterr().err
    truncated = "height 4: truncated: ends at 3, the consortium's signed head is 4"
    assert main(["ledger", "verify", str(cut), "--genesis", str(genesis), "--head", str(head)]) == 1
    assert capsys.readouterr().out.splitlines() == [truncated, "FAILED: 1 problem(s) in 3 blocks"]
    url, served = head_server
    served["/v1/head"] = head.read_bytes()
    assert main(["ledger", "verify", str(cut), "--genesis", str(genesis), "--head", url]) == 1
    assert capsys.readouterr().out.splitlines()[0] == truncated
    assert main(["ledger", "verify", str(ledger), "--genesis", str(genesis), "--head", url]) == 0
    assert capsys.readouterr().out.strip() == \
        "ok: 4 blocks, 9 readings verified, complete up to the consortium's signed head at 4"


def test_a_bad_signed_head_is_an_error_naming_why(files: tuple[Kit, Path, Path], tmp_path: Path,
                                                  head_server: tuple[str, dict[str, bytes]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, ledger, genesis = files
    head = tmp_path / "head.json"
    assert main(["ledger", "head", str(ledger), "--out", str(head)]) == 0
    data = json.loads(head.read_text())
    data["certificate"]["signatures"][0][1] = data["certificate"]["signatures"][1][1]
    head.write_text(json.dumps(data))
    verify = ["ledger", "verify", str(ledger), "--genesis", str(genesis), "--head"]
    assert main([*verify, str(head)]) == 2
    assert "the signed head does not verify: block 4 certificate: bad signature by 'n1'" in \
        capsys.readouterr().err
    del data["block_hash"]
    head.write_text(json.dumps(data))
    assert main([*verify, str(head)]) == 2
    assert "not a signed head (head.block_hash: is required)" in capsys.readouterr().err
    url, _ = head_server
    assert main([*verify, url]) == 2
    assert f"--head {url}/v1/head: HTTP 404" in capsys.readouterr().err
    assert main([*verify, str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
