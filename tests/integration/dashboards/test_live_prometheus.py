"""Every panel query, every variable and every rule, against a real Prometheus scraping real processes.

Prometheus (Debian's binary) scrapes stand-in exporters (exporter.py) that serve the metric names
of notes/INTERFACES.md through prometheus_client, evaluates the generated rule files, and every
query of every dashboard panel must return data. A killed member must read `up == 0` at the first
scrape after its death, which is what turns its tile red.
"""

from __future__ import annotations

from typing import Any

import pytest

from carbonlab.cli import main
from carbonlab.dashboards import build, figures, rules
from carbonlab.dashboards.errors import DashboardsError
from carbonlab.dashboards.model import TextVariable
from tests.integration.dashboards.conftest import expand_variables
from tests.waiting import wait_until

WAIT_S = 60.0  # bounded wait for the 5-minute rates to have their two samples


def all_queries() -> list[tuple[str, str]]:
    return [
        (f"{d.uid} / {p.title} / {q.legend}", expand_variables(q.expr, d))
        for d in build.dashboards()
        for p in d.panels
        for q in p.queries
    ]


def test_every_panel_query_returns_data(lab: Any) -> None:
    lab.wait_for_data(dict(all_queries()), WAIT_S)


def test_every_variable_lists_values(lab: Any) -> None:
    for dash in build.dashboards():
        for var in dash.variables:
            if isinstance(var, TextVariable):
                continue
            values = lab.get(f"/api/v1/label/{var.label_name}/values", **{"match[]": var.selector})
            assert values, f"{dash.uid}: variable {var.name} ({var.query}) lists nothing"
    assert set(lab.get("/api/v1/label/member/values", **{"match[]": 'up{job="node"}'})) == {
        "n1",
        "n2",
        "n3",
        "n4",
    }


def test_rules_load_and_evaluate_without_error(lab: Any) -> None:
    groups = lab.get("/api/v1/rules")["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    assert len(loaded) == len(rules.all_records()) + len(rules.ALERTS)

    def unhealthy() -> list[str]:
        groups = lab.get("/api/v1/rules")["groups"]
        return [r["name"] for g in groups for r in g["rules"] if r["health"] != "ok"]

    wait_until(lambda: not unhealthy(), WAIT_S, "every rule evaluates without error",
               poll_s=lab.scrape_interval_s)
    assert unhealthy() == []


def test_lagging_member_is_seen_behind(lab: Any) -> None:
    # n3's exporter is 3 blocks behind; the members' heights step together with the clock,
    # so 3 is what Prometheus sees except when two scrapes straddle a step
    def lag_of_n3() -> float:
        return max((float(s["value"][1]) for s in lab.query("member:carbonlab_lag_blocks:current")
                    if s["metric"]["member"] == "n3"), default=0.0)

    wait_until(lambda: lag_of_n3() >= 3, WAIT_S, "n3 seen 3 blocks behind", poll_s=lab.scrape_interval_s)


@pytest.mark.parametrize("member", ["n4"])
def test_killed_member_reads_down_at_the_first_scrape_after_death(lab: Any, member: str) -> None:
    selector = f'up{{job="node", member="{member}"}}'
    lab.wait_reads(selector, "1", f"{member} came up", WAIT_S)
    exporter = lab.exporters[member]
    # raw samples with their scrape timestamps (a range vector), not a step grid
    lab.reads_down_from_the_kill(selector, lambda: (exporter.kill(), exporter.wait(timeout=10)),
                                 f"{member} read down", WAIT_S)
    # and the real Prometheus raises CarbonlabMemberDown for it (pending for its 30 s `for`, then firing)
    def member_down_alerts() -> list[dict[str, Any]]:
        return [a for a in lab.get("/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == "CarbonlabMemberDown" and a["labels"].get("member") == member]

    down = wait_until(member_down_alerts, WAIT_S, "CarbonlabMemberDown became active",
                      poll_s=lab.scrape_interval_s)
    assert down[0]["state"] in ("pending", "firing")
    assert (
        down[0]["annotations"]["summary"] == f"Member {member} (Trading Centre) does not answer its scrape."
    )


def test_key_figures_for_the_terminal_view(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    def complete_figures() -> figures.Values | None:
        got = figures.fetch(lab.prometheus_url)
        return got if all(got.values()) else None

    values = wait_until(complete_figures, WAIT_S, "every key figure has data", poll_s=lab.scrape_interval_s)
    assert {k for k, v in values.items() if not v} == set()
    assert set(values["height"]) >= {"n1", "n2", "n3"}
    assert values["primary"] == {"n1": 1.0}
    assert set(values["CO2 kg/h"]) == {"plant-1", "plant-2"}
    text = figures.render(values)
    assert "no data" not in text
    assert "(no member scraped yet)" not in text
    assert main(["dashboards", "figures", "--prometheus-url", lab.prometheus_url]) == 0
    assert "height" in capsys.readouterr().out


def test_figures_name_an_unreachable_prometheus() -> None:
    with pytest.raises(DashboardsError, match="cannot query Prometheus"):
        figures.fetch("http://127.0.0.1:9", timeout_s=2)
