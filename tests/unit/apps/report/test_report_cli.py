"""`carbonlab report build|verify` on a ledger file: exit codes, the named problems it prints,
bad records refused by field."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from carbonlab.cli import main
from tests.unit.node.query.small_ledger import build as build_ledger

RECORDS = {
    "allocations": [{"company": "acme", "year": 2023, "quantity_t": 5.0, "issuer": "n2"}],
}
STATEMENT = {"company": "acme", "year": 2023, "emissions_t": 7.5, "basis": "co2", "gwp_set": None,
             "verifier": "n4", "manifest_hash": "cd" * 32}


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    ledger, genesis = tmp_path / "ledger.sqlite", tmp_path / "genesis.json"
    build_ledger(ledger).genesis.save(genesis)
    records = tmp_path / "records.json"
    records.write_text(json.dumps(RECORDS))
    return ledger, genesis, records


def _build(made: tuple[Path, Path, Path], out: Path, *extra: str) -> int:
    ledger, _, records = made
    return main(["report", "build", "--company", "acme", "--year", "2023", "--template", "eu-mrr",
                 "--ledger", str(ledger), "--records", str(records), "--out", str(out), *extra])


def test_build_then_verify_a_bad_statement_and_a_changed_pdf(made: tuple[Path, Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert _build(made, out) == 0
    assert "7 readings" in capsys.readouterr().out
    assert main(["report", "verify", str(out), "--genesis", str(made[1])]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("ok: 3 blocks")
    (out / "statement.json").write_text(json.dumps({**STATEMENT, "company": "globex"}))
    assert main(["report", "verify", str(out), "--genesis", str(made[1])]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "records statement.json: is not a statement for acme 2023" in lines
    assert "signature statement.json: unsigned: not a verifier's statement record committed on the chain, " \
        "so no signature stands behind it" in lines
    assert lines[-1].startswith("FAILED: 2 problem(s)")
    (out / "statement.json").write_text(json.dumps({**STATEMENT, "emissions_t": -1}))
    assert main(["report", "verify", str(out), "--genesis", str(made[1])]) == 1
    assert "statements[0].emissions_t" in capsys.readouterr().out
    (out / "report.pdf").write_bytes(b"%PDF-1.4 not the report")
    assert main(["report", "verify", str(out), "--genesis", str(made[1])]) == 1
    assert "manifest report.pdf: its SHA-256 is not the manifest's (the file was changed)" in \
        capsys.readouterr().out.splitlines()


def test_a_changed_records_file_changes_the_allowance_figures(
        made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert _build(made, out) == 0
    records = json.loads((out / "records.json").read_text())
    records["allocations"][0]["quantity_t"] = 50.0
    (out / "records.json").write_text(json.dumps(records))
    assert main(["report", "verify", str(out), "--genesis", str(made[1])]) == 1
    text = capsys.readouterr().out
    assert "figure report.json allowances/allocated/t: 5 stated, 50.0 recomputed" in text
    assert "figure report.xlsx allowances/allocated/t" in text


def test_bad_records_are_refused_by_field(made: tuple[Path, Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"allocations": [{"company": "acme", "year": 2023, "quantity_t": -1,
                                                "issuer": "n2"}]}))
    out = tmp_path / "r"
    assert _build((made[0], made[1], bad), out) == 2
    assert "allocations[0].quantity_t" in capsys.readouterr().err
    assert not out.exists()
    assert main(["report", "verify", str(tmp_path / "nowhere"), "--genesis", str(made[1])]) == 2
    assert "nowhere is not a directory" in capsys.readouterr().err


def test_an_out_that_cannot_be_made_is_refused_by_name(made: tuple[Path, Path, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert _build(made, dangling) == 2
    assert f"--out: {dangling} exists; the report goes into a new directory" in capsys.readouterr().err
    assert dangling.is_symlink()
    assert not (tmp_path / "nowhere").exists()
    # /proc takes no new directory, even from root: the temporary directory cannot be made
    assert _build(made, Path("/proc/carbonlab-report")) == 2
    assert "--out: cannot create a directory in /proc (" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_report_directory_is_readable_under_the_umask(made: tuple[Path, Path, Path],
                                                          tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert _build(made, tmp_path / "r") == 0
    finally:
        os.umask(old)
    assert (tmp_path / "r").stat().st_mode & 0o777 == 0o755


def test_a_killed_builds_temporary_directory_is_removed_by_the_next_build(
        made: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A process that made its temporary directory the way `build` names it and was then killed
    with SIGKILL leaves it behind; the next build removes it and says so. The directory of a
    build whose process still runs (this one's PID) is left alone."""
    import signal
    import subprocess
    import sys

    from carbonlab.apps.report.tempdirs import TEMP_MARK

    script = ("import os, sys, tempfile; d = tempfile.mkdtemp(prefix=f'.old{sys.argv[2]}{os.getpid()}-', "
              "dir=sys.argv[1]); open(os.path.join(d, 'report.json'), 'w').write('{'); "
              "os.kill(os.getpid(), 9)")
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path), TEMP_MARK], timeout=60, check=False)
    assert killed.returncode == -signal.SIGKILL
    (stale,) = tmp_path.glob(f".old{TEMP_MARK}*")
    running = tmp_path / f".other{TEMP_MARK}{os.getpid()}-x"
    running.mkdir()
    assert _build(made, tmp_path / "r") == 0
    out = capsys.readouterr().out
    assert f"removed {stale}: the temporary directory of an earlier build that was killed" in out
    assert not stale.exists()
    assert running.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [running.name]
