"""A member that stops turns red on every other member's console within the refresh interval
(plus the node's own detection: a killed process closes its connections at once)."""

from __future__ import annotations

import re
import signal

import pytest

from carbonlab.bench.localcluster import LocalCluster
from tests.integration.client.conftest import Console
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def _states(console: Console) -> dict[str, str]:
    return dict(re.findall(r'data-testid="member-(\w+)" data-state="(\w+)"', console.get("/chain").text))


def test_a_killed_member_turns_down_and_back_up(console: Console, cluster: LocalCluster) -> None:
    wait_until(lambda: _states(console) == dict.fromkeys(cluster.members, "up"), 30, "every member up")
    cluster.kill("n4", signal.SIGKILL)
    states = wait_until(lambda: (s := _states(console))["n4"] == "down" and s, 10, "n4 shown down")
    assert {m: s for m, s in states.items() if m != "n4"} == {"n1": "up", "n2": "up", "n3": "up"}
    assert 'class="row-down"' in console.get("/chain").text
    cluster.start("n4")
    wait_until(lambda: _states(console)["n4"] == "up", 60, "n4 shown up again after its restart")
