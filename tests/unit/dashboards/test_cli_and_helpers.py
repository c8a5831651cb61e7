"""`carbonlab dashboards build|check|scrape-config`, target files, and the rig's metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from carbonlab.cli import main
from carbonlab.dashboards import build
from carbonlab.dashboards.errors import DashboardsError, ScrapeTargetError
from carbonlab.dashboards.names import RIG_METRICS, exposed_names
from carbonlab.dashboards.rigmetrics import RigMetrics
from carbonlab.dashboards.scrape import targets_from_data


def test_build_then_check_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    assert main(["dashboards", "check", "--dir", str(tmp_path)]) == 0
    assert "in sync" in capsys.readouterr().out
    (tmp_path / build.RECORDING_FILE).write_text("groups: []\n", encoding="utf-8")
    assert main(["dashboards", "check", "--dir", str(tmp_path)]) == 2
    assert f"{build.RECORDING_FILE}: differs" in capsys.readouterr().err


def test_scrape_config_command(tmp_path: Path) -> None:
    targets = [
        {"role": "node", "address": "127.0.0.1:8080", "name": "n1", "organisation": "A"},
        {"role": "gateway", "address": "127.0.0.1:9108", "name": "gw1", "plant": "p1"},
    ]
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(targets), encoding="utf-8")
    out = tmp_path / "prom" / "prometheus.yml"
    assert (
        main(
            [
                "dashboards",
                "scrape-config",
                "--targets",
                str(tmp_path / "t.yaml"),
                "--interval",
                "2",
                "--rule-file",
                "rules/r.yml",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [j["job_name"] for j in config["scrape_configs"]] == ["node", "gateway"]
    assert config["rule_files"] == ["rules/r.yml"]
    assert config["global"]["scrape_interval"] == "2s"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"role": "node"}, "t.yaml: expected a list"),
        (["x"], r"t.yaml\[0\]: expected a mapping"),
        ([{"role": "node", "address": "h:1"}], r"t.yaml\[0\]: missing field name"),
        ([{"role": "node", "address": "h:1", "name": "n", "zone": "z"}], "unknown field"),
        ([{"role": "node", "address": "h:1", "name": 5}], r"t.yaml\[0\].name: expected a string"),
        ([{"role": "node", "address": "h:99999", "name": "n"}], r"t.yaml\[0\]: .*port 1-65535"),
    ],
)
def test_target_files_name_the_bad_entry(data: object, needle: str) -> None:
    with pytest.raises(ScrapeTargetError, match=needle):
        targets_from_data(data, "t.yaml")


def test_scrape_config_command_reports_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "dashboards",
                "scrape-config",
                "--targets",
                str(tmp_path / "none.yaml"),
                "--out",
                str(tmp_path / "p.yml"),
            ]
        )
        == 2
    )
    assert "cannot read targets" in capsys.readouterr().err
    assert not (tmp_path / "p.yml").exists()


def test_rig_metrics_expose_the_names_the_rig_dashboard_reads() -> None:
    rig = RigMetrics()
    rig.fault("node_kill", "apply")
    rig.invariant("agreement", True)
    text = generate_latest(rig.registry).decode()
    for metric in RIG_METRICS:
        for name in exposed_names(metric):
            assert f"\n{name}{{" in text, name
    assert 'carbonlab_rig_faults_total{action="apply",fault="node_kill"} 1.0' in text
    assert 'carbonlab_rig_faults_total{action="heal",fault="node_kill"} 0.0' in text
    assert 'carbonlab_rig_fault_active{fault="node_kill"} 1.0' in text
    rig.fault("node_kill", "heal")
    text = generate_latest(rig.registry).decode()
    assert 'carbonlab_rig_fault_active{fault="node_kill"} 0.0' in text
    assert 'carbonlab_rig_invariant_ok{invariant="agreement"} 1.0' in text
    with pytest.raises(DashboardsError, match="not one of apply, heal"):
        rig.fault("node_kill", "break")  # type: ignore[arg-type]
    with pytest.raises(DashboardsError, match="not host:port"):
        rig.serve("nowhere")


def test_generated_dir_holds_only_what_build_makes() -> None:
    files = {
        p.relative_to(build.GENERATED_DIR).as_posix() for p in build.GENERATED_DIR.rglob("*") if p.is_file()
    }
    assert files == set(build.artifacts())
