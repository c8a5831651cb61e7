"""Generated dashboards: valid v1 JSON (own check + grafana-foundation-sdk models), in sync, sound queries."""

from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from carbonlab.dashboards import build, rules, validate
from carbonlab.dashboards.errors import DashboardSchemaError, OutOfSyncError
from carbonlab.dashboards.model import queries

DASHBOARDS = {d.uid: d for d in build.dashboards()}
_RULE_NAME = re.compile(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+")


@pytest.fixture(params=sorted(DASHBOARDS))
def doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    return DASHBOARDS[request.param].to_json()


def test_structurally_valid(doc: dict[str, Any]) -> None:
    assert validate.structural_problems(doc) == []


def test_survives_the_grafana_foundation_sdk_models(doc: dict[str, Any]) -> None:
    pytest.importorskip("grafana_foundation_sdk", reason="grafana-foundation-sdk is a dev extra")
    assert validate.sdk_roundtrip_problems(doc) == []


def test_sdk_roundtrip_catches_a_field_the_schema_does_not_know(doc: dict[str, Any]) -> None:
    pytest.importorskip("grafana_foundation_sdk", reason="grafana-foundation-sdk is a dev extra")
    bad = copy.deepcopy(doc)
    bad["panels"][0]["gridpos"] = bad["panels"][0].pop("gridPos")
    bad["refreshh"] = "5s"
    problems = validate.sdk_roundtrip_problems(bad)
    assert "dashboard.panels[0].gridpos: not a field of the schema" in problems
    assert "dashboard.refreshh: not a field of the schema" in problems


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["panels"][0].update(type="graph-old"), "type 'graph-old'"),
        (lambda d: d["panels"][1].update(id=d["panels"][0]["id"]), "used twice"),
        (lambda d: d["panels"][1].update(gridPos=dict(d["panels"][0]["gridPos"])), "overlaps"),
        (lambda d: d["panels"][0]["gridPos"].update(x=20), "off the 24-column grid"),
        (lambda d: d["panels"][0]["targets"][0].update(expr='up{x=~"$nope"}'), "$nope, which templating"),
        (lambda d: d["panels"][0]["targets"][0].update(expr=" "), "non-empty string"),
        (lambda d: d["panels"][0].update(datasource={"uid": "x"}), "${datasource} variable"),
        (
            lambda d: d["panels"][0]["fieldConfig"]["defaults"]["thresholds"].update(
                steps=[
                    {"color": "red", "value": None},
                    {"color": "g", "value": 2},
                    {"color": "y", "value": 1},
                ]
            ),
            "ascending",
        ),
        (lambda d: d.update(uid="a b"), "uid 'a b'"),
        (lambda d: d["templating"]["list"].append(dict(d["templating"]["list"][0])), "duplicated"),
    ],
)
def test_structural_check_names_each_violation(mutate: Any, needle: str) -> None:
    doc = DASHBOARDS["carbonlab-consensus"].to_json()
    mutate(doc)
    problems = validate.structural_problems(doc)
    assert any(needle in p for p in problems), problems
    with pytest.raises(DashboardSchemaError, match=re.escape(needle)):
        validate.check(doc)


def test_every_query_reads_a_recording_rule_or_raw_up() -> None:
    records = rules.record_names()
    for dash in DASHBOARDS.values():
        for title, q in queries(dash):
            used = set(_RULE_NAME.findall(q.expr))
            assert used <= records, f"{dash.uid} / {title}: unknown rules {used - records}"
            assert used or q.expr.startswith("up{") or q.expr.startswith("vector("), f"{dash.uid} / {title}"


def test_required_panels_and_variables_exist() -> None:
    titles = {d.uid: {p.title for p in d.panels} for d in DASHBOARDS.values()}
    assert {
        "Members up",
        "Height per member",
        "View",
        "Primary",
        "Commit latency (all members)",
        "Throughput",
        "Messages by type",
        "View changes (10 min)",
        "Peer connectivity",
        "Blocks behind the highest member",
    } <= titles["carbonlab-consensus"]
    assert {
        "CO2 per company",
        "CO2 per plant",
        "CO2 per unit",
        "CO2 per stack",
        "Cumulative CO2 against allowance",
        "Anomalies (1 h)",
        "Rejected batches (1 h)",
        "Data availability per meter",
        "Gateway backlog (outbox depth)",
        "Forecast against actual per meter",
    } <= titles["carbonlab-emissions"]
    assert {"Invariants", "Faults active", "Faults applied and healed (1 h)"} <= titles["carbonlab-rig"]
    names = {v["name"] for d in DASHBOARDS.values() for v in d.to_json()["templating"]["list"]}
    assert {"node", "plant", "gateway", "allowance_t", "datasource"} <= names


def test_killed_member_turns_red_the_members_up_panel_reads_raw_up() -> None:
    panel = next(
        p for p in DASHBOARDS["carbonlab-consensus"].to_json()["panels"] if p["title"] == "Members up"
    )
    assert panel["targets"][0]["expr"] == 'up{job="node", member=~"$node"}'
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "red", "value": None}, {"color": "green", "value": 1}]
    assert panel["fieldConfig"]["defaults"]["mappings"][0]["options"]["0"]["color"] == "red"


def test_committed_generated_files_are_in_sync() -> None:
    build.check()


def test_check_fails_when_one_side_is_edited(tmp_path: Path) -> None:
    copy_dir = tmp_path / "generated"
    shutil.copytree(build.GENERATED_DIR, copy_dir)
    build.check(copy_dir)
    target = copy_dir / "dashboards" / "carbonlab-consensus.json"
    target.write_text(
        target.read_text(encoding="utf-8").replace("Members up", "Members UP"), encoding="utf-8"
    )
    (copy_dir / "dashboards" / "stale.json").write_text("{}", encoding="utf-8")
    (copy_dir / build.ALERTING_FILE).unlink()
    with pytest.raises(OutOfSyncError) as err:
        build.check(copy_dir)
    text = str(err.value)
    assert "dashboards/carbonlab-consensus.json: differs" in text
    assert "dashboards/stale.json: not built by the source" in text
    assert f"{build.ALERTING_FILE}: missing" in text


def test_build_writes_every_artifact(tmp_path: Path) -> None:
    files = build.artifacts(prometheus_url="http://prom:9090", dashboards_path="/srv/d", scrape_interval="2s")
    written = build.write(tmp_path, files)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(files)
    ds = (tmp_path / "provisioning/datasources/carbonlab.yml").read_text(encoding="utf-8")
    assert "url: http://prom:9090" in ds
    assert "timeInterval: 2s" in ds
    assert "path: /srv/d" in (tmp_path / "provisioning/dashboards/carbonlab.yml").read_text(encoding="utf-8")
    assert not list(tmp_path.rglob(".*"))  # no temp files left behind
    # readable by the users Prometheus and Grafana run as (mkstemp alone would make them 0600)
    assert {p.stat().st_mode & 0o777 for p in written} == {0o644}


def test_build_needs_no_dev_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without grafana-foundation-sdk (a lab controller with only the `lab` extra) build still works."""
    for name in [m for m in sys.modules if m.startswith("grafana_foundation_sdk")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "grafana_foundation_sdk", None)  # makes the import fail
    assert not validate.sdk_available()
    assert build.artifacts() == build.artifacts()
    with pytest.raises(DashboardSchemaError, match="grafana-foundation-sdk is not installed"):
        validate.sdk_roundtrip_problems(DASHBOARDS["carbonlab-rig"].to_json())
    bad = DASHBOARDS["carbonlab-rig"].to_json()
    bad["panels"][0]["type"] = "nope"
    with pytest.raises(DashboardSchemaError, match="type 'nope'"):
        validate.check(bad)  # the structural check still runs
