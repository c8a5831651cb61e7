"""The shipped scenario catalogue against a provisioned lab (CI: the default topology on netns):

    python -m pytest tests/hil --rig-topology carbonlab/lab/topologies/default.yaml \\
        --rig-provider netns --rig-report rig-reports --junitxml rig.xml

Each scenario's report (Markdown, PNG, run.json, the collected ledgers and truth logs) goes
to --rig-report/<scenario>/; a broken invariant fails with its evidence. Without
--rig-topology every test skips, saying so. `./dev test` runs this under CI=true (see `dev`):
one lab for the whole catalogue, brought up by the session and taken down at its end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from carbonlab.rig.scenario import shipped

# the first test also waits for the session's lab to come up (the lab fixture brings it up once)
pytestmark = [pytest.mark.hil, pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.mark.parametrize("name", [s.name for s in shipped()])
def test_scenario(rig_run: Callable[[str], Any], name: str) -> None:
    run = rig_run(name)
    # the scenario's duration and the rig's CPU: in the test's output and its run.json
    print(f"{name}: duration {run.duration_s:.1f} s, rig CPU {run.cpu_pct:.1f} % of one core")
    if run.skipped:
        pytest.skip(run.skipped)
    broken = [r for r in run.results if not r.passed and r.name not in run.scenario.expect.report_only]
    detail = "\n".join(f"{r.line()}\n" + "\n".join(f"    {e}" for e in r.evidence) for r in broken)
    assert not broken, f"{name}: invariants broken (report in {run.report_dir}):\n{detail}"
