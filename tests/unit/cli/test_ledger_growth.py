"""`carbonlab ledger bench --growth`: the table of sizes, the flat-cost ratios and JSON, on a
real ledger of a few thousand readings; bad sizes and stray options are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.cli import main


def test_growth_prints_each_size_the_reference_and_the_ratios(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "bench", "--growth", "1200,2400", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Ed25519" in out
    assert "fsync" in out
    assert "load average" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("1,200", "2,400"))]
    assert [r[0] for r in rows] == ["1,200", "2,400"]
    assert "at 2,400 against 1,200 readings (flat is 1.00): bytes per reading" in out
    assert "bytes per reading by table at 2,400 (dbstat): batches" in out
    # a second run takes both sizes from the cache and says so
    assert main(["ledger", "bench", "--growth", "1200,2400", "--cache-dir", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(s["readings"], s["cached"], s["verify_ok"]) for s in result["steps"]] == \
        [(1200, True, True), (2400, True, True)]
    assert result["steps"][1]["bytes_per_reading"] > 0
    assert result["ed25519_verify_per_s"] > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--growth", "1M,1k"], "--growth: sizes must increase"),
    (["--growth", "ten"], "--growth: 'ten' is not a size"),
    (["--fresh"], "--fresh and --cache-dir go with --growth"),
])
def test_bad_growth_options_are_named(argv: list[str], message: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "bench", *argv, "--cache-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
