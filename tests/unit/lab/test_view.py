"""Health verdicts and the status/demo text, from facts (no lab needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.lab.health import ClientFacts, GatewayFacts, LabFacts, NodeFacts, PrometheusState
from carbonlab.lab.state import LabState, Phase
from carbonlab.lab.view import console_lines, demo_line, status_text, watch_screen


def _facts(heights: list[int | None], gateway_up: bool = True, console_up: bool = True) -> LabFacts:
    nodes = [NodeFacts(f"n{i}", f"node{i}", "http://x", up=h is not None, height=h, view=0, primary="n1",
                       peers=3, readings=10.0 * i, co2_kg_by_plant={"plant-a": 2500.0})
             for i, h in enumerate(heights, 1)]
    gateways = [GatewayFacts("gw-a", "gw-a", "http://y", up=gateway_up, backlog=0.0 if gateway_up else None)]
    consoles = [ClientFacts("n1", "node1", "http://127.0.0.1:23403", up=console_up,
                            error="" if console_up else "no answer")]
    return LabFacts(nodes=nodes, gateways=gateways, meter_hosts={"meters-a": True},
                    prometheus=PrometheusState.READY, clients=consoles)


def test_healthy_when_all_nodes_answer_close_together() -> None:
    assert _facts([5, 5, 6, 7]).healthy() == (True, "4 nodes at height 5..7")


def test_not_healthy_reasons() -> None:
    assert _facts([5, None, 5, 5]).healthy() == (False, "nodes not answering: n2")
    assert _facts([0, 0, 0, 0]).healthy()[1].startswith("no block committed yet")
    assert _facts([5, 5, 5, 9]).healthy()[1] == "nodes apart: heights [5, 5, 5, 9]"
    assert _facts([5, 5, 5, 5], gateway_up=False).healthy() == (False, "gateways not answering: gw-a")
    assert _facts([5, 5, 5, 5], console_up=False).healthy() == (False, "consoles not answering: n1")


def test_status_and_demo_text() -> None:
    state = LabState(path=Path("/x"), lab_id="demo", provider="local", phase=Phase.HEALTHY)
    text = status_text(state, _facts([5, 5, 5, 5]), "/lab")
    assert "lab demo  provider local  phase healthy (recorded)  now healthy  dir /lab" in text
    # the header says what answers now, not only the phase the last `up` reached
    assert "phase healthy (recorded)  now NOT HEALTHY" in status_text(state, _facts([5, None, 5, 5]), "/lab")
    assert "health: healthy (4 nodes at height 5..5)" in text
    assert "gw-a     gw-a       yes         0" in text
    line = demo_line(_facts([5, 6, 6, 6]), 12.0)
    assert "n1=5 n2=6" in line
    assert "readings committed 20" in line
    assert "plant-a 2.50 t" in line
    assert "n1       node1      yes  http://127.0.0.1:23403/      /lab/clients/n1.token" in text
    assert console_lines(_facts([5, 5, 5, 5]), "/lab") == [
        "  n1     http://127.0.0.1:23403/  (token in /lab/clients/n1.token)"]
    assert console_lines(_facts([5, 5, 5, 5], console_up=False), "/lab")[0].endswith("NOT ANSWERING")
    absent = status_text(LabState(path=Path("/x")), None, "/lab")
    assert "the lab is absent" in absent


@pytest.mark.parametrize(("state", "line"), [
    (PrometheusState.READY, "prometheus: ready"),
    (PrometheusState.NOT_READY, "prometheus: NOT READY"),
    (PrometheusState.SKIPPED, "prometheus: not installed (lab up skipped it: /lab/prometheus-skipped.txt; "
                              "the nodes still serve /metrics)"),
])
def test_status_says_whether_prometheus_is_ready_down_or_skipped(state: PrometheusState, line: str) -> None:
    facts = _facts([5, 5, 5, 5])
    facts.prometheus = state
    text = status_text(LabState(path=Path("/x"), lab_id="d", provider="local", phase=Phase.HEALTHY),
                       facts, "/lab")
    assert line in text.splitlines()
    facts.prometheus = None                                    # the topology has none: no line
    assert "prometheus:" not in status_text(LabState(path=Path("/x"), phase=Phase.HEALTHY), facts, "/lab")


def test_watch_says_lab_up_skipped_prometheus_without_asking_it(tmp_path: Path) -> None:
    (tmp_path / "prometheus-skipped.txt").write_text("obs: `prometheus` is not installed there")
    text = watch_screen(LabState(path=Path("/x"), phase=Phase.HEALTHY), str(tmp_path),
                        lambda: "http://127.0.0.1:9",          # nothing listens: a fetch would say so
                        lambda: _facts([5, 5, 5, 5]))
    assert text.startswith("NO PROMETHEUS: lab up skipped it (obs: `prometheus` is not installed there)")
