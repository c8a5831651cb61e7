"""Every recording rule and every alert, checked by `promtool test rules` with exact values.

Synthetic series at 1-minute steps; rates are taken over windows whose samples cover the window
exactly, so Prometheus does not extrapolate and every expected value is worked out by hand in
the comments. Skipped (with the reason) where promtool is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.dashboards import build, rules

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package `prometheus`; ./dev test installs it as root)",
)

ORG = {"n1": "Power Co A", "n2": "Power Co B", "n3": "Verifier"}


def node(metric: str, member: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return {
        "series": f'{metric}{{job="node",instance="{member}:8080",member="{member}",'
        f'organisation="{ORG[member]}"{extra}}}',
        "values": values,
    }


def gateway(metric: str, gw: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return {
        "series": f'{metric}{{job="gateway",instance="{gw}:9108",gateway="{gw}"{extra}}}',
        "values": values,
    }


def rig(metric: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{k}="{v}"' for k, v in labels.items())
    return {"series": f'{metric}{{job="rig",instance="rig:9200",host="rig"{extra}}}', "values": values}


M1 = {"company": "c1", "plant": "p1", "unit": "u1", "stack": "s1", "meter": "m1"}
M2 = {"company": "c1", "plant": "p1", "unit": "u1", "stack": "s2", "meter": "m2"}
M3 = {"company": "c2", "plant": "p2", "unit": "u1", "stack": "s1", "meter": "m3"}


def latency(metric: str, make: Any, who: str, **labels: str) -> list[dict[str, str]]:
    # per second over 5m: le=0.1 -> 0, le=0.5 -> 1, le=1 and +Inf -> 2.  With 2 observations/s:
    # q0.5: rank 1 falls in (0.1, 0.5] at its top -> 0.5; q0.9: rank 1.8 -> 0.5 + 0.5 * 0.8 = 0.9;
    # q0.99: rank 1.98 -> 0.5 + 0.5 * 0.98 = 0.99.
    b = f"{metric}_bucket"
    return [
        make(b, who, "0+0x10", le="0.1", **labels),
        make(b, who, "0+60x10", le="0.5", **labels),
        make(b, who, "0+120x10", le="1", **labels),
        make(b, who, "0+120x10", le="+Inf", **labels),
    ]


SERIES: list[dict[str, str]] = [
    # heights at 10m: n1 20, n2 20, n3 5 -> n3 is 15 behind
    node("carbonlab_height", "n1", "10+1x10"),
    node("carbonlab_height", "n2", "10+1x10"),
    node("carbonlab_height", "n3", "5+0x10"),
    node("carbonlab_view", "n1", "1+0x10"),
    node("carbonlab_view", "n2", "1+0x10"),
    node("carbonlab_view", "n3", "0+0x10"),
    node("carbonlab_is_primary", "n1", "0+0x10"),
    node("carbonlab_is_primary", "n2", "1+0x10"),
    *latency("carbonlab_commit_latency_seconds", node, "n1"),
    *latency("carbonlab_commit_latency_seconds", node, "n2"),
    # blocks: n1, n2 60/min = 1/s, n3 0.5/s; increase over 10m from 0: 600
    node("carbonlab_blocks_committed_total", "n1", "0+60x10"),
    node("carbonlab_blocks_committed_total", "n2", "0+60x10"),
    node("carbonlab_blocks_committed_total", "n3", "0+30x10"),
    # readings per member: m1 2/s + m2 1/s = 3/s
    node("carbonlab_readings_committed_total", "n1", "0+120x10", **M1),
    node("carbonlab_readings_committed_total", "n1", "0+60x10", **M2),
    node("carbonlab_readings_committed_total", "n2", "0+120x10", **M1),
    node("carbonlab_readings_committed_total", "n2", "0+60x10", **M2),
    # CO2: m1 10 kg/s on n1 (n2 behind at 9 kg/s, max wins) = 36000 kg/h; m2 1 kg/s = 3600; m3 2 kg/s = 7200
    node("carbonlab_co2_kg_total", "n1", "0+600x10", **M1),
    node("carbonlab_co2_kg_total", "n2", "0+540x10", **M1),
    node("carbonlab_co2_kg_total", "n1", "0+60x10", **M2),
    node("carbonlab_co2_kg_total", "n1", "0+120x10", **M3),
    node("carbonlab_messages_total", "n1", "0+600x10", type="prepare", direction="out"),
    node("carbonlab_messages_total", "n1", "0+300x10", type="commit", direction="in"),
    node("carbonlab_messages_total", "n2", "0+600x10", type="prepare", direction="out"),
    # one view change a minute: 10 in 10 minutes -> a storm
    node("carbonlab_view_changes_total", "n1", "0+1x10"),
    node("carbonlab_view_changes_total", "n2", "0+1x10"),
    node("carbonlab_peers_connected", "n1", "6+0x10"),
    node("carbonlab_peers_connected", "n2", "5+0x10"),
    node("carbonlab_peer_up", "n1", "1+0x10", peer="n2"),
    node("carbonlab_peer_up", "n1", "0+0x10", peer="n3"),
    # increase over 1h of a counter born at 0m: no extrapolation below zero -> 10
    node("carbonlab_state_transfers_total", "n3", "0+1x10"),
    node("carbonlab_frame_errors_total", "n1", "0+60x10", reason="bad_signature"),
    node("carbonlab_anomalies_total", "n1", "0+1x10", kind="spike", meter="m1"),
    node("carbonlab_anomalies_total", "n2", "0+1x10", kind="spike", meter="m1"),
    node("carbonlab_batches_rejected_total", "n1", "0+2x10", reason="bad_signature"),
    node("carbonlab_batches_rejected_total", "n2", "0+2x10", reason="bad_signature"),
    # polls: m1 1 ok + 1 timeout per second -> 0.5; m2 all ok -> 1; m3 none ok -> 0
    gateway("carbonlab_gateway_polls_total", "gw1", "0+60x10", meter="m1", result="ok"),
    gateway("carbonlab_gateway_polls_total", "gw1", "0+60x10", meter="m1", result="comm_fault"),
    gateway("carbonlab_gateway_polls_total", "gw1", "0+60x10", meter="m2", result="ok"),
    gateway("carbonlab_gateway_polls_total", "gw1", "0+60x10", meter="m3", result="comm_fault"),
    *latency("carbonlab_gateway_poll_latency_seconds", gateway, "gw1", meter="m1"),
    # outbox of gw1 grows 60 a minute (deriv exactly 1/s), gw2 stays at 5
    gateway("carbonlab_gateway_outbox_depth", "gw1", "0+60x10"),
    gateway("carbonlab_gateway_outbox_depth", "gw2", "5+0x10"),
    gateway("carbonlab_gateway_outbox_oldest_age_seconds", "gw1", "0+60x10"),
    gateway("carbonlab_gateway_outbox_oldest_age_seconds", "gw2", "0+0x10"),
    gateway("carbonlab_gateway_uploads_total", "gw1", "0+60x10", node="n1", result="committed"),
    gateway("carbonlab_gateway_uploads_total", "gw1", "0+60x10", node="n2", result="committed"),
    gateway("carbonlab_gateway_uploads_total", "gw1", "0+30x10", node="n1", result="error"),
    gateway("carbonlab_gateway_intervals_total", "gw1", "0+1x10", meter="m1", flag="N"),
    gateway("carbonlab_gateway_intervals_total", "gw1", "0+1x10", meter="m2", flag="N"),
    gateway("carbonlab_gateway_intervals_total", "gw1", "0+0x10", meter="m1", flag="D"),
    gateway("carbonlab_gateway_forecast_co2_kg", "gw1", "35000+0x10", meter="m1"),
    rig("carbonlab_rig_faults_total", "0+1x10", fault="node_kill", action="apply"),
    rig("carbonlab_rig_faults_total", "0+1x10", fault="node_kill", action="heal"),
    rig("carbonlab_rig_fault_active", "1+0x10", fault="node_kill"),
    rig("carbonlab_rig_fault_active", "0+0x10", fault="meter_stuck"),
    rig("carbonlab_rig_invariant_ok", "1+0x10", invariant="agreement"),
    rig("carbonlab_rig_invariant_ok", "1 1 1 1 1 0 0 0 0 0 0", invariant="exactly_once"),
    {"series": 'up{job="node",instance="n1:8080",member="n1",organisation="Power Co A"}', "values": "1+0x10"},
    {
        "series": 'up{job="node",instance="n3:8080",member="n3",organisation="Verifier"}',
        "values": "1 1 1 1 1 0 0 0 0 0 0",
    },
    {"series": 'up{job="gateway",instance="gw2:9108",gateway="gw2"}', "values": "0+0x10"},
]


def sel(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def m(member: str, **labels: str) -> str:
    return sel(member=member, organisation=ORG[member], **labels)


def q(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"labels": labels, "value": value} for labels, value in pairs]


def quantiles(name: str, **labels: str) -> list[tuple[str, float]]:
    return [(name + sel(**labels, quantile=k), v) for k, v in (("0.5", 0.5), ("0.9", 0.9), ("0.99", 0.99))]


c1p1 = {"company": "c1", "plant": "p1"}
c2p2 = {"company": "c2", "plant": "p2"}
EXPECTED: dict[str, list[tuple[str, float]]] = {
    "member:carbonlab_height:max": [(m("n1"), 20), (m("n2"), 20), (m("n3"), 5)],
    "cluster:carbonlab_height:max": [("{}", 20)],
    "member:carbonlab_lag_blocks:current": [(m("n1"), 0), (m("n2"), 0), (m("n3"), 15)],
    "member:carbonlab_view:max": [(m("n1"), 1), (m("n2"), 1), (m("n3"), 0)],
    "member:carbonlab_is_primary:max": [(m("n1"), 0), (m("n2"), 1)],
    "cluster_quantile:carbonlab_commit_latency_seconds:rate5m": quantiles(""),
    "member_quantile:carbonlab_commit_latency_seconds:rate5m": quantiles("", member="n1")
    + quantiles("", member="n2"),
    "member:carbonlab_blocks_committed:rate5m": [
        (sel(member="n1"), 1),
        (sel(member="n2"), 1),
        (sel(member="n3"), 0.5),
    ],
    "cluster:carbonlab_blocks_committed:rate5m": [("{}", 1)],
    "cluster:carbonlab_blocks_committed:increase10m": [("{}", 600)],
    "cluster:carbonlab_readings_committed:rate5m": [("{}", 3)],
    "member_type_direction:carbonlab_messages:rate5m": [
        (sel(member="n1", type="prepare", direction="out"), 10),
        (sel(member="n1", type="commit", direction="in"), 5),
        (sel(member="n2", type="prepare", direction="out"), 10),
    ],
    "member:carbonlab_view_changes:increase10m": [(sel(member="n1"), 10), (sel(member="n2"), 10)],
    "cluster:carbonlab_view_changes:increase10m": [("{}", 10)],
    "member:carbonlab_peers_connected:max": [(sel(member="n1"), 6), (sel(member="n2"), 5)],
    "member_peer:carbonlab_peer_up:max": [(sel(member="n1", peer="n2"), 1), (sel(member="n1", peer="n3"), 0)],
    "member:carbonlab_state_transfers:increase1h": [(sel(member="n3"), 10)],
    "member_reason:carbonlab_frame_errors:rate5m": [(sel(member="n1", reason="bad_signature"), 1)],
    "meter:carbonlab_co2_kg_per_hour:rate5m": [(sel(**M1), 36000), (sel(**M2), 3600), (sel(**M3), 7200)],
    "company:carbonlab_co2_kg_per_hour:rate5m": [(sel(company="c1"), 39600), (sel(company="c2"), 7200)],
    "plant:carbonlab_co2_kg_per_hour:rate5m": [(sel(**c1p1), 39600), (sel(**c2p2), 7200)],
    "unit:carbonlab_co2_kg_per_hour:rate5m": [
        (sel(**c1p1, unit="u1"), 39600),
        (sel(**c2p2, unit="u1"), 7200),
    ],
    "stack:carbonlab_co2_kg_per_hour:rate5m": [
        (sel(**c1p1, unit="u1", stack="s1"), 36000),
        (sel(**c1p1, unit="u1", stack="s2"), 3600),
        (sel(**c2p2, unit="u1", stack="s1"), 7200),
    ],
    # totals at 10m: m1 max(6000, 5400) + m2 600 = 6600 for c1/p1; m3 1200 for c2/p2
    "company_plant:carbonlab_co2_kg:total": [(sel(**c1p1), 6600), (sel(**c2p2), 1200)],
    "company:carbonlab_co2_kg:total": [(sel(company="c1"), 6600), (sel(company="c2"), 1200)],
    "meter:carbonlab_readings_committed:rate5m": [(sel(**M1), 2), (sel(**M2), 1)],
    "meter_kind:carbonlab_anomalies:increase1h": [(sel(meter="m1", kind="spike"), 10)],
    "reason:carbonlab_batches_rejected:increase1h": [(sel(reason="bad_signature"), 20)],
    "gateway_meter:carbonlab_gateway_poll_availability:ratio_rate5m": [
        (sel(gateway="gw1", meter="m1"), 0.5),
        (sel(gateway="gw1", meter="m2"), 1),
        (sel(gateway="gw1", meter="m3"), 0),
    ],
    "gateway_quantile:carbonlab_gateway_poll_latency_seconds:rate5m": quantiles("", gateway="gw1"),
    "gateway:carbonlab_gateway_outbox_depth:max": [(sel(gateway="gw1"), 600), (sel(gateway="gw2"), 5)],
    "gateway:carbonlab_gateway_outbox_depth:deriv10m": [(sel(gateway="gw1"), 1), (sel(gateway="gw2"), 0)],
    "gateway:carbonlab_gateway_outbox_oldest_age_seconds:max": [
        (sel(gateway="gw1"), 600),
        (sel(gateway="gw2"), 0),
    ],
    "gateway_result:carbonlab_gateway_uploads:rate5m": [
        (sel(gateway="gw1", result="committed"), 2),
        (sel(gateway="gw1", result="error"), 0.5),
    ],
    "gateway_flag:carbonlab_gateway_intervals:increase1h": [
        (sel(gateway="gw1", flag="N"), 20),
        (sel(gateway="gw1", flag="D"), 0),
    ],
    "gateway_meter:carbonlab_gateway_forecast_co2_kg:max": [(sel(gateway="gw1", meter="m1"), 35000)],
    "fault_action:carbonlab_rig_faults:increase1h": [
        (sel(fault="node_kill", action="apply"), 10),
        (sel(fault="node_kill", action="heal"), 10),
    ],
    "fault:carbonlab_rig_fault_active:max": [(sel(fault="node_kill"), 1), (sel(fault="meter_stuck"), 0)],
    "invariant:carbonlab_rig_invariant_ok:min": [
        (sel(invariant="agreement"), 1),
        (sel(invariant="exactly_once"), 0),
    ],
}


def alert(name: str, severity: str, summary: str, **labels: str) -> dict[str, Any]:
    return {"exp_labels": {**labels, "severity": severity}, "exp_annotations": {"summary": summary}}


ALERTS_AT_10M: dict[str, list[dict[str, Any]]] = {
    "CarbonlabMemberDown": [
        alert(
            "",
            "critical",
            "Member n3 (Verifier) does not answer its scrape.",
            job="node",
            instance="n3:8080",
            member="n3",
            organisation="Verifier",
        )
    ],
    "CarbonlabMemberLagging": [
        alert(
            "",
            "warning",
            "Member n3 is 15 blocks behind (threshold 5).",
            member="n3",
            organisation="Verifier",
        )
    ],
    "CarbonlabViewChangeStorm": [alert("", "warning", "10 view changes in 10 minutes.")],
    "CarbonlabGatewayDown": [
        alert(
            "",
            "critical",
            "Gateway gw2 does not answer its scrape.",
            job="gateway",
            instance="gw2:9108",
            gateway="gw2",
        )
    ],
    "CarbonlabGatewayBacklogGrowing": [
        alert("", "warning", "Gateway gw1 outbox keeps growing.", gateway="gw1")
    ],
    "CarbonlabMeterAvailabilityLow": [
        alert("", "warning", "Meter m1 on gw1: 50% good polls.", gateway="gw1", meter="m1"),
        alert("", "warning", "Meter m3 on gw1: 0% good polls.", gateway="gw1", meter="m3"),
    ],
    "CarbonlabInvariantBroken": [
        alert("", "critical", "Rig invariant exactly_once failed.", invariant="exactly_once")
    ],
    "CarbonlabNoCommit": [],  # blocks are committed all along in this group
}


def promtool_tests() -> dict[str, Any]:
    figures = {
        "interval": "1m",
        "input_series": SERIES,
        "promql_expr_test": [
            {
                "expr": name,
                "eval_time": "10m",
                "exp_samples": [
                    {"labels": name + labels if labels != "{}" else name, "value": value}
                    for labels, value in samples
                ],
            }
            for name, samples in EXPECTED.items()
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": name, "exp_alerts": exp} for name, exp in ALERTS_AT_10M.items()
        ],
    }
    # Blocks rise to 5 by 5m, then stop: the 10-minute increase is 0 from 15m on; the alert is pending
    # at 15m and fires at 16m (for: 1m).
    stalled = {
        "interval": "1m",
        "input_series": [node("carbonlab_blocks_committed_total", "n1", "0+1x5 5x11")],
        "alert_rule_test": [
            {"eval_time": "15m", "alertname": "CarbonlabNoCommit", "exp_alerts": []},
            {
                "eval_time": "16m",
                "alertname": "CarbonlabNoCommit",
                "exp_alerts": [alert("", "critical", "No member committed a block in the last 10m.")],
            },
        ],
        "promql_expr_test": [
            {
                "expr": "cluster:carbonlab_blocks_committed:increase10m",
                "eval_time": "16m",
                "exp_samples": [{"labels": "cluster:carbonlab_blocks_committed:increase10m", "value": 0}],
            },
        ],
    }
    # Not lagging yet: n3 only 4 behind, and the alerts that need `for` are still pending.
    early = {
        "interval": "1m",
        "input_series": [node("carbonlab_height", "n1", "14+0x3"), node("carbonlab_height", "n3", "10+0x3")],
        "alert_rule_test": [{"eval_time": "3m", "alertname": "CarbonlabMemberLagging", "exp_alerts": []}],
        "promql_expr_test": [
            {
                "expr": 'member:carbonlab_lag_blocks:current{member="n3"}',
                "eval_time": "3m",
                "exp_samples": [
                    {
                        "labels": 'member:carbonlab_lag_blocks:current{member="n3",organisation="Verifier"}',
                        "value": 4,
                    }
                ],
            },
        ],
    }
    return {
        "rule_files": [build.RECORDING_FILE, build.ALERTING_FILE],
        "evaluation_interval": "1m",
        # records before alerts, as Prometheus does it in steady state (otherwise promtool's order
        # is random and an alert may read the previous minute's record)
        "group_eval_order": [*rules.RECORDING_GROUPS, "carbonlab_alerts"],
        "tests": [figures, stalled, early],
    }


def test_every_rule_and_alert_has_an_exact_case() -> None:
    assert set(EXPECTED) == rules.record_names()
    assert all(EXPECTED.values()), "every recording rule must be expected to produce a value"
    assert set(ALERTS_AT_10M) == {a.alert for a in rules.ALERTS}
    firing = [name for name, exp in ALERTS_AT_10M.items() if exp]
    assert set(firing) | {"CarbonlabNoCommit"} == set(ALERTS_AT_10M)


@needs_promtool
def test_promtool_test_rules(tmp_path: Path) -> None:
    build.write(tmp_path, build.artifacts())
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(promtool_tests(), sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_promtool
def test_promtool_test_rules_fails_on_a_wrong_value(tmp_path: Path) -> None:
    """The harness can fail: one expected value off by one makes promtool report it."""
    build.write(tmp_path, build.artifacts())
    doc = promtool_tests()
    doc["tests"][0]["promql_expr_test"][0]["exp_samples"][0]["value"] += 1
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "member:carbonlab_height:max" in proc.stdout + proc.stderr


@needs_promtool
def test_promtool_check_rules(tmp_path: Path) -> None:
    build.write(tmp_path, build.artifacts())
    proc = subprocess.run(
        [PROMTOOL, "check", "rules", build.RECORDING_FILE, build.ALERTING_FILE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(rules.all_records())} rules found" in proc.stdout
    assert f"{len(rules.ALERTS)} rules found" in proc.stdout
