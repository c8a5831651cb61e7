"""The terminal view's figures: taken from the dashboards' panels, rendered as a screen, and the
`lab watch` screens (Prometheus, fallback to the node APIs with a banner, absent lab)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.dashboards import build, consensus, emissions, figures
from carbonlab.dashboards.errors import DashboardsError
from carbonlab.dashboards.figures import RED, RESET
from carbonlab.lab import view
from carbonlab.lab.health import GatewayFacts, LabFacts, NodeFacts
from carbonlab.lab.state import LabState, Phase
from tests.integration.dashboards.conftest import expand_variables, watch_lab

HEALTHY = LabState(path=Path("/x"), lab_id="demo", provider="local", phase=Phase.HEALTHY)
VALUES = {
    "up": {"n1": 1.0, "n2": 1.0, "n10": 1.0, "n3": 0.0},
    "height": {"n1": 120.0, "n2": 118.0, "n10": 112.0},
    "behind": {"n1": 0.0, "n2": 2.0, "n10": 8.0},
    "view": {"n1": 1.0, "n2": 1.0, "n10": 1.0},
    "primary": {"n2": 1.0},
    "peers": {"n1": 3.0, "n2": 3.0, "n10": 2.0},
    "commit p99": {"n1": 0.25, "n2": 0.3},
    "commit latency": {"0.99": 0.31, "0.5": 0.12, "0.9": 0.2},
    "blocks/s": {"": 2.5},
    "readings/s": {"": 40.0},
    "CO2 kg/h": {"plant-10": 50.0, "plant-2": 1234.56},
    "CO2 t": {"genco": 12.3456},
    "gateway up": {"gw1": 1.0, "gw2": 0.0},
    "backlog": {"gw1": 3.0},
    "oldest": {"gw1": 4.0},
    "availability": {"m1": 1.0, "m2": 0.875},
}


def test_every_figure_is_a_dashboard_query_with_the_variables_at_their_defaults() -> None:
    panel_queries = {id(q): (d, q) for d in build.dashboards() for p in d.panels for q in p.queries}
    for fig in figures.KEY_FIGURES:
        if fig.name == "gateway up":  # the gateway variable's own selector
            assert fig.query.expr == emissions.GATEWAY.selector
            continue
        assert id(fig.query) in panel_queries, f"{fig.name}: not a query of any dashboard panel"
        dash, query = panel_queries[id(fig.query)]
        assert fig.expr == expand_variables(query.expr, dash)
        assert "$" not in fig.expr
    assert figures.Figure("x", consensus.MEMBERS_UP, "member").expr == 'up{job="node", member=~".*"}'


def test_a_query_with_an_unknown_variable_is_refused() -> None:
    with pytest.raises(DashboardsError, match=r"uses \$nope, which no dashboard defines"):
        figures.expand('up{member=~"$nope"}')
    assert figures.expand("x / $allowance_t") == "x / 1000"


def test_render_shows_members_consensus_emissions_and_gateways() -> None:
    text = figures.render(VALUES)
    lines = text.splitlines()
    members = [line.split()[0] for line in lines[1:5]]
    assert members == ["n1", "n2", "n3", "n10"]  # natural order
    assert re.search(r"^n2 +UP +118 +2 +1 yes +3 +0\.300 s$", text, re.M), text
    assert re.search(r"^n3 +DOWN +- +- +- +- +-$", text, re.M), text
    assert "commit latency   p50 0.120 s  p90 0.200 s  p99 0.310 s" in text
    assert "throughput       2.50 blocks/s  40.00 readings/s" in text
    assert "CO2 per plant    plant-2 1234.6 kg/h  plant-10 50.0 kg/h" in text
    assert "CO2 committed    genco 12.346 t" in text
    assert re.search(r"^gw1 +UP +3 +4 s$", text, re.M), text
    assert re.search(r"^gw2 +DOWN +- +-$", text, re.M), text
    assert "availability     m1 100.0%  m2 87.5%" in text
    assert "\x1b[" not in text


def test_render_paints_down_members_red_on_a_terminal() -> None:
    text = figures.render(VALUES, color=True)
    n3 = next(line for line in text.splitlines() if line.startswith("n3 "))
    assert f"{RED}DOWN {RESET}" in n3
    n10 = next(line for line in text.splitlines() if line.startswith("n10 "))
    assert f"{RED}     8{RESET}" in n10  # 8 blocks behind: lagging


def test_render_without_data_says_so() -> None:
    text = figures.render({})
    assert "(no member scraped yet)" in text
    assert "(no gateway scraped yet)" in text
    assert "CO2 per plant    no data yet" in text


def _facts() -> LabFacts:
    return LabFacts(
        nodes=[NodeFacts("n1", "node1", "http://x", up=True, height=7, view=0, primary="n1", peers=3)],
        gateways=[GatewayFacts("gw1", "plant", "http://y", up=True, backlog=0.0)],
        meter_hosts={"plant": True},
        prometheus=None,
    )


def test_watch_screen_falls_back_to_the_node_apis_with_a_banner() -> None:
    asked: list[str] = []

    def facts() -> LabFacts:
        asked.append("facts")
        return _facts()

    text = view.watch_screen(HEALTHY, "/lab", lambda: None, facts)
    assert text.startswith(
        "NO PROMETHEUS: this lab's topology has no Prometheus; figures below come from the node APIs"
    )
    assert "lab demo  provider local  phase healthy" in text
    assert asked == ["facts"]
    # a Prometheus that does not answer (nothing listens on port 9): the same fallback, naming it
    text = view.watch_screen(HEALTHY, "/lab", lambda: "http://127.0.0.1:9", facts)
    assert text.startswith("NO PROMETHEUS: cannot query Prometheus at http://127.0.0.1:9")
    absent = view.watch_screen(LabState(path=Path("/x")), "/lab", lambda: "http://127.0.0.1:9", facts)
    assert "the lab is absent" in absent
    assert asked == ["facts", "facts"]


def test_prometheus_screen_names_its_source() -> None:
    text = view.prometheus_screen(HEALTHY, "/lab", "http://127.0.0.1:9090", VALUES)
    assert text.splitlines()[1] == "figures: Prometheus http://127.0.0.1:9090, the dashboards' own queries"
    assert figures.render(VALUES) in text


def test_lab_watch_cli_without_prometheus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    topo, lab_dir, url = watch_lab(tmp_path, prometheus=False)
    assert url is None
    assert main(["lab", "watch", str(topo), "--lab-dir", str(lab_dir), "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NO PROMETHEUS: this lab's topology has no Prometheus")
    assert "nodes not answering" in out  # nothing of this lab runs: the node APIs say so


def test_lab_watch_cli_with_its_prometheus_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    topo, lab_dir, url = watch_lab(tmp_path)
    assert main(["lab", "watch", str(topo), "--lab-dir", str(lab_dir), "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"NO PROMETHEUS: cannot query Prometheus at {url}")
