"""Hand-edited and damaged ledger files (an outside tester's cases, 2026-12-06): a value of the
wrong storage type, text that is not UTF-8, a tampered index, garbage pages, a dropped table.
`ledger verify` names each as a problem (exit 1); every other reader fails with a LedgerError
naming the file, the table, the column and the row (exit 2); never a traceback."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.errors import LedgerFileError
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.ledger.verify_file import count_problems
from carbonlab.node.query import EmissionsFilter, open_source
from tests.unit.node.factories import Kit
from tests.unit.node.ledger.test_ledger_verify import edit, fetch


def run(*argv: str | Path) -> int:
    return main([str(a) for a in argv])


WRONG_TYPES = [
    ("UPDATE blocks SET certificate = 'hello' WHERE height = 3",
     "height 3: blocks.certificate is text ('hello'), not a blob (row height=3)"),
    ("UPDATE blocks SET header = 'hello' WHERE height = 3",
     "height 3: blocks.header is text ('hello'), not a blob (row height=3)"),
    ("UPDATE blocks SET hash = 'hello' WHERE height = 2",
     "height 2: blocks.hash is text ('hello'), not a blob (row height=2)"),
    ("UPDATE batches SET request = 'hello' WHERE height = 2 AND idx = 1",
     "height 2: batches.request is text ('hello'), not a blob (row height=2, idx=1)"),
    ("UPDATE checkpoints SET signatures = 'x'",
     "height 4: checkpoints.signatures is text ('x'), not a blob (row seq=4)"),
    ("UPDATE checkpoints SET block_hash = 'x'",
     "height 4: checkpoints.block_hash is text ('x'), not a blob (row seq=4)"),
    ("UPDATE readings SET seq = 'x' WHERE meter_id = 'm1' AND seq = 2",
     "height 2: readings.seq is text ('x'), not an integer (row meter_id='m1', seq='x')"),
    ("UPDATE meter_state SET baseline = 'abc' WHERE meter_id = 'm1'",
     "height 4: the contract-state tables differ from a re-run of the contract "
     "(meter_state.baseline is text ('abc'), not a blob (row meter_id='m1'))"),
    # SQLite's || makes TEXT: here not UTF-8; named with its height, its bytes escaped
    ("UPDATE blocks SET hash = X'ff' || substr(hash, 2) WHERE height = 2",
     "height 2: blocks.hash is text that is not UTF-8 (b'\\xff"),
]


@pytest.mark.parametrize(("sql", "line"), WRONG_TYPES,
                         ids=[s.split(" WHERE")[0] for s, _ in WRONG_TYPES])
def test_verify_names_a_value_of_the_wrong_type(made: tuple[Kit, Path, Path], sql: str,
                                                line: str) -> None:
    kit, path, _ = made
    edit(path, sql)
    report = verify_ledger(path, kit.genesis)
    assert not report.ok
    assert any(p.startswith(line) for p in report.problems), report.problems
    assert all(p.isascii() and p.isprintable() for p in report.problems)


@pytest.mark.parametrize("argv", [["ledger", "show", "{L}", "--height", "3"], ["ledger", "head", "{L}"],
                                  ["ledger", "proof", "{L}", "--meter", "m3", "--seq", "3"]])
def test_readers_refuse_text_in_a_blob_naming_file_table_column_row(
        made: tuple[Kit, Path, Path], argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, path, _ = made
    edit(path, "UPDATE blocks SET certificate = 'hello' WHERE height = 3")
    edit(path, "UPDATE blocks SET header = 'hello' WHERE height = 4")
    assert run(*(a.replace("{L}", str(path)) for a in argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"carbonlab: error: {path}: cannot read the ledger: blocks.")
    assert "is text ('hello'), not a blob (row height=" in err


def test_a_stored_value_of_the_wrong_type_in_the_state_is_a_file_error_on_open(
        made: tuple[Kit, Path, Path]) -> None:
    _, path, _ = made
    edit(path, "UPDATE meter_state SET baseline = 'abc' WHERE meter_id = 'm1'")
    with pytest.raises(LedgerFileError, match=r"l\.sqlite: not a usable ledger: meter_state\.baseline "
                                              r"is text \('abc'\), not a blob \(row meter_id='m1'\)"):
        open_source(path).query(EmissionsFilter())


def test_a_flipped_byte_in_a_baseline_blob_is_a_tamper_not_an_abort(made: tuple[Kit, Path, Path]) -> None:
    kit, path, _ = made
    blob = bytearray(fetch(path, "SELECT baseline FROM meter_state WHERE meter_id = 'm1'")[0])
    assert blob[-3:] == b"\x92\x01\x01"       # runs [1, 1]: made [0, 1], below its minimum
    blob[-2] = 0
    edit(path, "UPDATE meter_state SET baseline = ? WHERE meter_id = 'm1'", bytes(blob))
    report = verify_ledger(path, kit.genesis)
    assert len(report.problems) == 1
    assert report.problems == ["height 4: the contract-state tables differ from a re-run of the "
                               "contract (meter_state[m1].baseline.runs[0]: 0 is below the minimum 1)"]


def test_an_index_rebuilt_short_under_its_old_definition_fails_verify(
        made: tuple[Kit, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, path, genesis = made
    db = sqlite3.connect(path)
    db.executescript(
        "DROP INDEX readings_by_meter_time; CREATE INDEX readings_by_meter_time ON readings "
        "(meter_id, interval_start) WHERE meter_id <> 'm1'; PRAGMA writable_schema=ON; "
        "UPDATE sqlite_schema SET sql = 'CREATE INDEX readings_by_meter_time ON readings "
        "(meter_id, interval_start)' WHERE name = 'readings_by_meter_time';")
    db.close()
    assert run("ledger", "verify", path, "--genesis", genesis) == 1
    out = capsys.readouterr().out
    assert "missing from index readings_by_meter_time" in out
    assert "ok:" not in out


def corrupt_page(path: Path, name: str, how: str) -> None:
    db = sqlite3.connect(path)
    size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    db.close()
    with path.open("r+b") as f:
        if how == "zero cell count":
            f.seek((root - 1) * size + 3)
            f.write(b"\0\0")
        else:
            f.seek((root - 1) * size)
            f.write(random.Random(1).randbytes(size))


@pytest.mark.parametrize(("name", "how", "named"), [
    ("readings_by_time", "zero cell count", "missing from index readings_by_time"),
    ("sqlite_autoindex_meta_1", "garbage",
     "table meta or one of its indexes: database disk image is malformed"),
    ("consensus_records", "garbage", "table consensus_records or one of its indexes"),
    ("readings", "garbage", "table readings or one of its indexes"),
])
def test_damaged_pages_fail_verify_naming_the_table_or_index(
        made: tuple[Kit, Path, Path], name: str, how: str, named: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, path, genesis = made
    corrupt_page(path, name, how)
    assert run("ledger", "verify", path, "--genesis", genesis) == 1
    out = capsys.readouterr().out
    assert "file: SQLite integrity_check: " in out
    assert named in out
    assert "ok:" not in out


def test_verify_counts_the_readings_table_another_way(made: tuple[Kit, Path, Path]) -> None:
    _, path, _ = made
    db = sqlite3.connect(path)
    assert count_problems(db, 12) == []
    assert count_problems(db, 13) == ["the readings table counts 12 rows by a scan and 12 through its "
                                      "index, the certified batches hold 13 accepted readings"]
    db.close()


def test_a_dropped_table_and_a_directory_are_named(made: tuple[Kit, Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, path, genesis = made
    edit(path, "DROP TABLE readings")
    for argv in (["ledger", "show", path], ["ledger", "verify", path, "--genesis", genesis],
                 ["emissions", "query", "--ledger", path]):
        assert run(*argv) == 2
        assert capsys.readouterr().err == (f"carbonlab: error: {path}: not a whole ledger: table "
                                           "readings missing (dropped by hand?)\n")
    (tmp_path / "adir.sqlite").mkdir()
    assert run("ledger", "verify", tmp_path / "adir.sqlite", "--genesis", genesis) == 2
    assert "adir.sqlite: is a directory, not a ledger file" in capsys.readouterr().err


def test_show_refuses_requests_without_height(made: tuple[Kit, Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _, path, _ = made
    assert run("ledger", "show", path, "--requests") == 2
    assert "--requests applies only with --height" in capsys.readouterr().err
    with Ledger.open_readonly(path) as ledger:
        assert ledger.height == 4
