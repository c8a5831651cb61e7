"""The report from a run's JSON: the timeline, the invariant table (a stated limit marked as
such), the evidence, and a real PNG."""

from __future__ import annotations

import json
from pathlib import Path

from carbonlab.rig.report import write_report


def run_json(tmp_path: Path) -> Path:
    t0 = 1_800_000_000.0
    samples = [{"t": t0 + t, "heights": {"n1": None if 10 <= t < 20 else t // 2, "n2": t // 2},
                "views": {"n1": 0, "n2": 0}, "co2_kg": 1000.0 * t if t % 5 == 0 else None} for t in range(40)]
    run = {"scenario": "demo", "lab": "lab1", "provider": "local", "seed": 5, "passed": False, "skipped": "",
           "duration_s": 41.0, "cpu_pct": 3.5, "started_at": t0, "healed_at": t0 + 30,
           "phases_s": {"ready": 0.5, "timeline": 30.0, "recover": 2.0, "settle": 5.0, "collect": 1.5,
                        "check": 2.0},
           "converged_after_s": 2.0, "report_only": ["liveness"],
           "faults": [{"fault": "node.kill", "target": "n1", "params": {}, "applied_at": t0 + 10,
                       "healed_at": t0 + 20, "applied": "SIGKILL node-n1 pid 5", "healed": "started again",
                       "error": ""}],
           "invariants": [{"name": "agreement", "passed": False,
                           "summary": "1 height(s) with two block hashes",
                           "evidence": ["height 7: aa on n1; bb on n2"], "data": {}},
                          {"name": "liveness", "passed": False, "summary": "liveness broken",
                           "evidence": ["10..20 s: height stayed at 5"], "data": {}}],
           "samples": samples}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    return path


def test_report(tmp_path: Path) -> None:
    report = write_report(run_json(tmp_path))
    text = report.read_text()
    assert text.startswith("# Scenario `demo`: FAIL")
    assert ("- duration 41.0 s, rig CPU 3.5 % of one core (ready 0.5 s, timeline 30.0 s, recover 2.0 s, "
            "settle 5.0 s, collect 1.5 s, check 2.0 s)") in text
    assert "| `node.kill` | n1 | `{}` | +10.0 | +20.0 | SIGKILL node-n1 pid 5 / started again |" in text
    assert "| agreement | **FAIL** |" in text
    assert "| liveness | FAIL (reported only: a stated limit) |" in text
    assert "- height 7: aa on n1; bb on n2" in text
    png = tmp_path / "heights.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![heights](heights.png)" in text


def test_skipped_report_has_no_plot(tmp_path: Path) -> None:
    path = run_json(tmp_path)
    run = json.loads(path.read_text())
    run.update(skipped="needs provider netns; the lab runs on local", samples=[], faults=[], invariants=[])
    path.write_text(json.dumps(run))
    text = write_report(path).read_text()
    assert "SKIPPED" in text
    assert "needs provider netns" in text
    assert not (tmp_path / "heights.png").exists()


def test_a_run_json_without_phases_still_reports(tmp_path: Path) -> None:
    """run.json files written before the phases were kept (the console lists old runs too)."""
    path = run_json(tmp_path)
    run = json.loads(path.read_text())
    del run["phases_s"]
    path.write_text(json.dumps(run))
    assert "- duration 41.0 s, rig CPU 3.5 % of one core\n" in write_report(path).read_text()
