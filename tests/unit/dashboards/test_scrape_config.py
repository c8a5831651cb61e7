"""scrape_config(): one job per role, identity labels per target, clear errors, promtool-valid."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from carbonlab.dashboards.errors import ScrapeTargetError
from carbonlab.dashboards.scrape import ScrapeTarget, duration, scrape_config

PROMTOOL = shutil.which("promtool")

TARGETS = [
    ScrapeTarget("node", "127.0.0.1:8080", "n1", organisation="Power Co A"),
    ScrapeTarget("node", "127.0.0.1:8081", "n2", organisation="Verifier"),
    ScrapeTarget("gateway", "198.18.0.5:9108", "gw1", organisation="Power Co A", plant="p1"),
    ScrapeTarget("meters", "meters-1:9110", "meters-1", plant="p1"),
    ScrapeTarget("rig", "127.0.0.1:9200", "controller"),
]


def test_one_job_per_role_with_identity_labels() -> None:
    config = scrape_config(TARGETS, 5)
    assert config["global"] == {"scrape_interval": "5s", "scrape_timeout": "5s", "evaluation_interval": "5s"}
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert list(jobs) == ["node", "gateway", "meters", "rig"]
    assert jobs["node"]["static_configs"] == [
        {
            "targets": ["127.0.0.1:8080"],
            "labels": {"job": "node", "member": "n1", "organisation": "Power Co A"},
        },
        {
            "targets": ["127.0.0.1:8081"],
            "labels": {"job": "node", "member": "n2", "organisation": "Verifier"},
        },
    ]
    assert jobs["gateway"]["static_configs"][0]["labels"] == {
        "job": "gateway",
        "gateway": "gw1",
        "organisation": "Power Co A",
        "plant": "p1",
    }
    assert jobs["meters"]["static_configs"][0]["labels"] == {
        "job": "meters",
        "host": "meters-1",
        "plant": "p1",
    }
    assert jobs["rig"]["static_configs"][0]["labels"] == {"job": "rig", "host": "controller"}
    assert "rule_files" not in config


def test_empty_roles_have_no_job_and_rule_files_pass_through() -> None:
    config = scrape_config(TARGETS[:1], 0.5, rule_files=["rules/a.yml"], evaluation_interval_s=15)
    assert [j["job_name"] for j in config["scrape_configs"]] == ["node"]
    assert config["global"] == {
        "scrape_interval": "500ms",
        "scrape_timeout": "500ms",
        "evaluation_interval": "15s",
    }
    assert config["rule_files"] == ["rules/a.yml"]


def test_external_labels_go_into_global() -> None:
    config = scrape_config(TARGETS, 5, external_labels={"lab": "demo"})
    assert config["global"]["external_labels"] == {"lab": "demo"}
    with pytest.raises(ScrapeTargetError, match="external label 'bad-name'"):
        scrape_config(TARGETS, 5, external_labels={"bad-name": "x"})
    with pytest.raises(ScrapeTargetError, match="external label 'lab'"):
        scrape_config(TARGETS, 5, external_labels={"lab": ""})


def test_timeout_is_capped_at_ten_seconds() -> None:
    assert scrape_config(TARGETS, 30)["global"]["scrape_timeout"] == "10s"


def test_other_metrics_path_gets_its_own_job_with_the_role_label() -> None:
    config = scrape_config(
        [*TARGETS, ScrapeTarget("node", "127.0.0.1:8090", "n3", metrics_path="/x/metrics")], 5
    )
    job = next(j for j in config["scrape_configs"] if j["metrics_path"] == "/x/metrics")
    assert job["job_name"] == "node_x_metrics"
    assert job["static_configs"][0]["labels"]["job"] == "node"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"role": "db", "address": "h:1", "name": "x"}, "role 'db' is not one of"),
        ({"role": "node", "address": "h", "name": "x"}, "is not host:port"),
        ({"role": "node", "address": "h:0", "name": "x"}, "port 1-65535"),
        ({"role": "node", "address": "h:70000", "name": "x"}, "port 1-65535"),
        ({"role": "node", "address": "h:1", "name": "bad name"}, "name must match"),
        ({"role": "node", "address": "h:1", "name": "n1", "plant": "p1"}, "a node target takes no plant"),
        ({"role": "rig", "address": "h:1", "name": "r", "organisation": "o"}, "allowed: none"),
        ({"role": "gateway", "address": "h:1", "name": "g", "plant": " "}, "plant must be a non-empty"),
        ({"role": "node", "address": "h:1", "name": "n", "metrics_path": "metrics"}, "must start with '/'"),
    ],
)
def test_bad_targets_are_refused_with_the_field_named(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(ScrapeTargetError, match=needle):
        ScrapeTarget(**kwargs)


def test_duplicates_and_bad_intervals_are_refused() -> None:
    with pytest.raises(ScrapeTargetError, match="is also 'n1'"):
        scrape_config([TARGETS[0], ScrapeTarget("gateway", "127.0.0.1:8080", "gw9")], 5)
    with pytest.raises(ScrapeTargetError, match="share this name"):
        scrape_config([TARGETS[0], ScrapeTarget("node", "127.0.0.1:9999", "n1")], 5)
    for bad in (0, -1, float("nan"), 0.0001):
        with pytest.raises(ScrapeTargetError, match="scrape_interval_s"):
            duration(bad)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package `prometheus`)")
def test_promtool_accepts_the_generated_config(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("groups: []\n", encoding="utf-8")
    config = scrape_config(TARGETS, 5, rule_files=["rules.yml"], external_labels={"lab": "demo"})
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "check", "config", "prometheus.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
