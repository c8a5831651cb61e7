"""The rig page's reading of scenario runs: a real run.json shape, and files that are not runs."""

from __future__ import annotations

import json
from pathlib import Path

from carbonlab.client.rigruns import REPORTS, runs


def _run(tmp_path: Path, name: str, body: object) -> Path:
    path = tmp_path / REPORTS / name / "run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def test_a_run_shows_its_timeline_and_invariants(tmp_path: Path) -> None:
    _run(tmp_path, "kill-one", {
        "scenario": "kill-one", "lab": "x", "provider": "local", "seed": 7, "passed": False, "skipped": "",
        "duration_s": 42.5, "started_at": 1000.0, "report_only": ["accuracy"],
        "faults": [{"fault": "node.kill", "target": "n3", "params": {}, "applied_at": 1010.0,
                    "healed_at": 1020.5, "applied": "killed", "healed": "restarted", "error": None}],
        "invariants": [{"name": "agreement", "passed": True, "summary": "one hash per height"},
                       {"name": "accuracy", "passed": False, "summary": "off by 2 %"}]})
    [run] = runs(tmp_path)
    assert (run.scenario, run.verdict, run.seed, run.duration_s) == ("kill-one", "FAIL", 7, 42.5)
    assert run.faults[0].applied_s == 10.0
    assert run.faults[0].healed_s == 20.5
    assert run.faults[0].what == "killed / restarted"
    assert [(i.name, i.passed, i.report_only) for i in run.invariants] == [
        ("agreement", True, False), ("accuracy", False, True)]


def test_a_file_that_is_not_a_run_is_listed_with_its_problem(tmp_path: Path) -> None:
    _run(tmp_path, "broken", "{not json")
    _run(tmp_path, "wrong", {"scenario": "wrong", "passed": "yes"})
    found = {r.scenario: r for r in runs(tmp_path)}
    assert found["broken"].verdict == "UNREADABLE"
    assert found["wrong"].verdict == "UNREADABLE"
    assert "run.passed" in found["wrong"].problem


def test_no_lab_dir_or_no_reports_is_no_run(tmp_path: Path) -> None:
    assert runs(None) == []
    assert runs(tmp_path) == []


def test_a_deep_or_binary_run_file_is_listed_unreadable_not_raised(tmp_path: Path) -> None:
    """Read with the project's one strict JSON reader: a RecursionError (not a ValueError)
    escaped the page before."""
    _run(tmp_path, "deep", "[" * 100_000 + "]" * 100_000)
    (tmp_path / REPORTS / "binary").mkdir()
    (tmp_path / REPORTS / "binary" / "run.json").write_bytes(b"\xff\xfe\x00junk")
    found = {r.scenario: r for r in runs(tmp_path)}
    assert (found["deep"].verdict, found["binary"].verdict) == ("UNREADABLE", "UNREADABLE")
    assert "nested too deeply" in found["deep"].problem
    assert "not UTF-8 text" in found["binary"].problem
