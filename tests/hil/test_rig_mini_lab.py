"""The rig end to end on a small real lab: the session's shared lab (tests/sharedlab.py: local
provider, four nodes, one gateway, two emulated meters, Ansible-provisioned, brought up once and
taken down after its last user). A mixed scenario with a paused backup, a killed gateway, a
stuck meter, hostile traffic and a tampered ledger: every invariant holds, the tampering is
found, and the report is written; before it, the structure module's totals are held against the
meters' truth logs over intervals that start after the test does (other users of the lab may
have run faults before it). Every fault the scenario applies is healed before it returns, so
the lab is left healthy (the fixture checks)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from carbonlab.rig.report import write_report
from carbonlab.rig.runner import run_scenario
from carbonlab.rig.scenario import load
from tests.hil.structure_truth import check_structure_against_truth
from tests.sharedlab import SharedLab

pytestmark = [pytest.mark.hil, pytest.mark.slow]
TESTDATA = Path(__file__).parents[1] / "unit" / "rig" / "testdata"


def test_structure_totals_match_the_meters_truth_logs(shared_lab: SharedLab) -> None:
    """After a minute of readings taken since the test started, each stack's CO2 in the
    structure tree (n1's own ledger, read-only) equals the sum over the same intervals of the
    mass computed from the meter's truth log (interval averages of the true values), within the
    2 % averaging tolerance docs/query.md states."""
    check_structure_against_truth(shared_lab.rig, member="n1", minutes=1.0, after=int(time.time()))


def test_mixed_scenario_on_the_mini_lab(shared_lab: SharedLab, tmp_path: Path) -> None:
    run = run_scenario(shared_lab.rig, load(TESTDATA / "mini-mixed.yaml"), tmp_path / "mini-mixed",
                       progress=lambda _line: None)
    results = {r.name: r for r in run.results}
    assert run.passed, "\n".join(r.line() + " " + "; ".join(r.evidence) for r in run.results)
    assert set(results) >= {"agreement", "validity", "detection", "completeness", "accuracy", "liveness",
                            "rejections", "flagged"}
    assert "n3: detected: height" in results["detection"].evidence[0]
    assert "unknown_gateway" in results["rejections"].evidence[0]
    assert results["completeness"].data["missing"] == 0
    assert [r.fault for r in run.journal.records] == [
        "traffic.stranger", "node.pause", "meter.stuck", "gateway.kill", "traffic.replay",
        "node.tamper_ledger"]
    assert all(r.healed_at is not None for r in run.journal.records)
    assert list(run.phases_s) == ["ready", "timeline", "recover", "settle", "collect", "check"]
    assert run.phases_s["timeline"] >= run.scenario.duration_s - 1
    report = write_report(tmp_path / "mini-mixed" / "run.json")
    text = report.read_text()
    assert "| detection | pass |" in text
    assert (tmp_path / "mini-mixed" / "heights.png").stat().st_size > 10_000


def test_network_scenario_skips_on_local(shared_lab: SharedLab, tmp_path: Path) -> None:
    run = run_scenario(shared_lab.rig, load(TESTDATA / "mini-net.yaml"), tmp_path / "mini-net",
                       progress=lambda _line: None)
    assert run.skipped == "needs provider netns; the lab runs on local"
