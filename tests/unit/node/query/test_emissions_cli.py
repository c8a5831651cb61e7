"""`carbonlab emissions` on a real ledger file: formats, CSV round-trip, proofs offline, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carbonlab.cli import main
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from carbonlab.node.query.campd import COLUMNS, read_csv, write_csv
from tests.unit.node.query.small_ledger import M1, D, build, kg


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    kit = build(tmp_path / "l.db")
    kit.genesis.save(tmp_path / "genesis.json")
    return tmp_path / "l.db", tmp_path / "genesis.json"


def test_csv_round_trip_and_campd_names(files: tuple[Path, Path], tmp_path: Path) -> None:
    ledger, _ = files
    out = tmp_path / "q.csv"
    assert main(["emissions", "query", "--ledger", str(ledger), "--period", "hour", "--level",
                 "meter", "--format", "csv", "--out", str(out)]) == 0
    text = out.read_text()
    header = text.splitlines()[0].split(",")
    assert header == list(COLUMNS)
    assert {"co2Mass_t", "co2MassMeasureFlg", "heatInput_GJ", "grossLoad_MWh", "opTime",
            "facilityName", "unitId", "date", "hour"} <= set(header)
    with open_source(ledger) as src:
        direct = src.query(EmissionsFilter(), period=Period.HOUR, level=Level.METER)
    assert read_csv(text) == list(direct.rows)   # exactly the stored floats
    assert write_csv(read_csv(text)) == text
    first = text.splitlines()[1].split(",")
    row = dict(zip(header, first, strict=True))
    assert row["facilityName"] == "plant1"
    assert row["co2MassMeasureFlg"] == "Measured"
    assert float(row["co2Mass_t"]) == pytest.approx(kg(*M1[:3]) / 1000, rel=1e-12)


def test_proofs_check_offline_and_a_changed_value_is_refused(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, genesis = files
    answer = tmp_path / "a.json"
    assert main(["emissions", "query", "--ledger", str(ledger), "--company", "acme", "--period",
                 "day", "--format", "json", "--proofs", "--out", str(answer)]) == 0
    raw = json.loads(answer.read_text())
    assert [len(r["proofs"]) for r in raw["rows"]] == [6, 1]
    assert main(["emissions", "verify-proofs", str(answer), "--genesis", str(genesis)]) == 0
    assert "ok: 2 rows, 7 readings proven" in capsys.readouterr().out

    for tamper in ("row total", "reading value", "dropped proof"):
        bad = json.loads(answer.read_text())
        if tamper == "row total":
            bad["rows"][0]["co2_kg"] += 1.0
        elif tamper == "reading value":
            bad["rows"][0]["proofs"][0]["reading"]["co2_pct"] += 0.5
        else:
            bad["rows"][1]["proofs"] = []
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        assert main(["emissions", "verify-proofs", str(path), "--genesis", str(genesis)]) == 1, tamper
        assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "field"), [
    (["--company", "initech"], "company"), (["--since", str(D + 60), "--until", str(D)], "until"),
    (["--gas", "sf6"], "gas"),
])
def test_bad_filters_are_cli_errors_naming_the_option(
        files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], args: list[str],
        field: str) -> None:
    ledger, _ = files
    assert main(["emissions", "query", "--ledger", str(ledger), *args]) == 2
    assert f"error: {field}:" in capsys.readouterr().err


def test_table_and_structure_print(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = files
    assert main(["emissions", "query", "--ledger", str(ledger), "--level", "plant"]) == 0
    out = capsys.readouterr().out
    assert "acme/plant1" in out
    assert "missing" in out
    assert main(["emissions", "structure", "--ledger", str(ledger), "--gwp", "AR6"]) == 0
    out = capsys.readouterr().out
    assert "stack stack1" in out
    assert "CO2e t (AR6)" in out


@pytest.mark.parametrize(("tamper", "code", "said"), [
    (lambda b: b["rows"][0].__setitem__("gross_mwh", 999.0), 1, "gross_mwh"),
    (lambda b: b["rows"][0].__setitem__("heat_input_gj", 1.0), 1, "heat_input_gj"),
    # a gas taken out of the filter: its claimed total was no longer compared
    (lambda b: (b["filter"].__setitem__("gas", "co2"), b["rows"][0].__setitem__("ch4_kg", 5.0)), 1,
     "ch4_kg"),
    (lambda b: b["rows"][0].__setitem__("period_end", b["rows"][0]["period_end"] + 30 * 86_400), 1,
     "period_end"),
    (lambda b: b["rows"][0].__setitem__("period_start", b["rows"][0]["period_start"] - 3600), 1,
     "period_start"),
    (lambda b: b.__setitem__("level", "all"), 1, "company"),   # rows still name their company
    (lambda b: b.__setitem__("interval_s", 3600), 1, "interval_s"),
    # not numbers where numbers belong, not an object where one belongs: were tracebacks
    (lambda b: b["rows"][0].__setitem__("co2_kg", "abc"), 2, "rows[0].co2_kg"),
    (lambda b: b["rows"][0].__setitem__("readings", "6"), 2, "rows[0].readings"),
    (lambda b: b.__setitem__("filter", None), 2, "filter"),
    (lambda b: b["rows"].__setitem__(0, []), 2, "rows[0]"),
    (lambda b: b["filter"].__setitem__("gas", 5), 2, "filter.gas"),
])
def test_verify_proofs_refuses_every_edited_or_mistyped_answer_by_name(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        tamper: Any, code: int, said: str) -> None:
    ledger, genesis = files
    answer = tmp_path / "a.json"
    assert main(["emissions", "query", "--ledger", str(ledger), "--company", "acme", "--period",
                 "day", "--format", "json", "--proofs", "--out", str(answer)]) == 0
    bad = json.loads(answer.read_text())
    tamper(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["emissions", "verify-proofs", str(path), "--genesis", str(genesis)]) == code
    captured = capsys.readouterr()
    assert said in captured.out + captured.err
    assert "Traceback" not in captured.err


def test_verify_proofs_names_a_period_start_past_the_calendar(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, genesis = files
    answer = tmp_path / "a.json"
    assert main(["emissions", "query", "--ledger", str(ledger), "--period", "month", "--format",
                 "json", "--proofs", "--out", str(answer)]) == 0
    bad = json.loads(answer.read_text())
    bad["rows"][0]["period_start"] = 10**15
    answer.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["emissions", "verify-proofs", str(answer), "--genesis", str(genesis)]) == 2
    assert "rows[0].period_start" in capsys.readouterr().err


@pytest.mark.parametrize("body", [b'{"rows": 5}', b"[]", b'{"filter": {}, "tree": null}', b"null"])
@pytest.mark.parametrize("command", ["query", "structure"])
def test_a_node_answering_junk_is_an_error_naming_the_node(
        capsys: pytest.CaptureFixture[str], body: bytes, command: str) -> None:
    """A member (or anything at that address) answering 200 with JSON that is not an answer:
    the CLI raised KeyError or TypeError."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Junk(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Junk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["emissions", command, "--node", url]) == 2
        err = capsys.readouterr().err
        assert f"error: --node {url}: not a {command} answer" in err, err
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("command", [["emissions", "query"], ["emissions", "structure"]])
def test_an_unwritable_out_is_an_error_naming_it_and_leaves_no_partial_file(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    """--out into a missing directory or onto a directory was a FileNotFoundError or
    IsADirectoryError traceback; a write is now whole or not at all (temporary file, rename)."""
    ledger, _ = files
    for out in (tmp_path / "missing" / "a.json", tmp_path):
        assert main([*command, "--ledger", str(ledger), "--format", "json", "--out", str(out)]) == 2
        assert f"error: --out {out}: cannot write" in capsys.readouterr().err
    good = tmp_path / "a.json"
    assert main([*command, "--ledger", str(ledger), "--format", "json", "--out", str(good)]) == 0
    assert json.loads(good.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("command", [["ledger", "proof", "--meter", "m1", "--seq", "1"],
                                     ["ledger", "head"]])
def test_ledger_proof_and_head_out_name_an_unwritable_path(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    ledger, _ = files
    out = tmp_path / "missing" / "p.json"
    assert main([command[0], command[1], str(ledger), *command[2:], "--out", str(out)]) == 2
    assert f"error: --out {out}: cannot write" in capsys.readouterr().err
