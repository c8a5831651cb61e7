"""The lab the rig's catalogue runs on, checked end to end before the first scenario (CI: the
default topology on netns, `./dev test` under CI=true runs this file first in the catalogue's
session, see `dev`'s rig_catalogue):

    python -m pytest tests/hil/test_rig_default_lab.py tests/hil/test_rig_catalogue.py \\
        --rig-topology carbonlab/lab/topologies/default.yaml --rig-provider netns ...

This used to bring up a netns lab of the default topology of its own in the main suite
(tests/integration/lab/test_netns_lab.py, 6 min under CI); the catalogue's session brings the
same lab up anyway, so the checks run on that one: every member, gateway and meter host of the
topology answers, Prometheus is ready, readings keep arriving, a second playbook run of the same
code changes nothing, and `carbonlab lab status` reports it healthy. That the lab leaves nothing
behind when taken down is checked at the session's end by tests/conftest.py's leftover guard
(as root: every namespace, link, route and nft table of the session must be gone), and for the
netns provider's own objects and processes by test_netns_lab.py's small-topology tests.
Without --rig-topology it skips, saying so (the `lab` fixture)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from carbonlab.lab.health import PrometheusState
from carbonlab.rig.labbind import RigLab

# the first test also waits for the session's lab to come up (the lab fixture brings it up once)
pytestmark = [pytest.mark.hil, pytest.mark.slow, pytest.mark.timeout(1500)]
CARBONLAB = Path(sys.executable).parent / "carbonlab"


def test_the_catalogue_lab_is_up_whole_and_converged(lab: RigLab, pytestconfig: pytest.Config) -> None:
    from carbonlab.lab import topology
    from carbonlab.lab.lifecycle import Lab

    topo = topology.load(Path(lab.topology))
    lab_dir = Path(lab.ctx.genesis_path).parent
    live = Lab(topo, lab_dir, lab.provider, progress=lambda _line: None)
    assert lab.provider == (pytestconfig.getoption("--rig-provider") or topo.provider)
    facts = live.wait_healthy(60)
    assert [n.member for n in facts.nodes] == [m.id for m in topo.members]
    assert all(n.up for n in facts.nodes)
    assert len(facts.gateways) == len(topo.gateways)
    assert all(g.up for g in facts.gateways)
    assert facts.meter_hosts
    assert all(facts.meter_hosts.values())
    if topo.prometheus:
        assert facts.prometheus is PrometheusState.READY
    # readings arrive: the committed count grows
    first = max(n.readings for n in facts.nodes)
    deadline = time.monotonic() + 120
    while max(n.readings for n in live.wait_healthy(60).nodes) <= first:
        assert time.monotonic() < deadline, f"no reading committed within 120 s after {first}"
        time.sleep(1.0)
    again = live.provision("site-second.log", same_code=True)
    assert again.changed == 0, again.recap
    status = subprocess.run([str(CARBONLAB), "lab", "status", lab.topology, "--lab-dir", str(lab_dir)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "health: healthy" in status.stdout
