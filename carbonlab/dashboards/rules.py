"""Recording and alerting rules, as data, rendered to Prometheus rule files.

Every figure a dashboard shows is a recording rule (`level:metric:operations`), so the panel
queries stay short and the same numbers are tested exactly with `promtool test rules`. The one
exception is liveness (`up`), which panels read raw: a recording rule would add an evaluation
interval of delay, and a killed member must turn red at the first failed scrape.

Node counters exist once per member; all honest members commit the same readings, so emission
figures take `max` across members (the most advanced ledger), never `sum`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Alert thresholds (documented in docs/dashboards.md).
LAG_BLOCKS = 5  # a member this many blocks behind the highest is lagging
NO_COMMIT_WINDOW = "10m"  # no block committed anywhere in this window
VIEW_CHANGE_STORM = 3  # more view changes than this in 10 minutes
BACKLOG_MIN_DEPTH = 10  # an outbox at least this deep and still growing
AVAILABILITY_MIN = 0.9  # fraction of good polls per meter over 5 minutes

EMISSION_KEYS = ("company", "plant", "unit", "stack", "meter")


@dataclass(frozen=True)
class Record:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class Alert:
    alert: str
    expr: str
    for_: str
    severity: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary},
        }


def _quantiles(record: str, bucket: str, by: str) -> list[Record]:
    keep = f"{by}, le" if by else "le"
    return [
        Record(record, f"histogram_quantile({q}, sum by ({keep}) (rate({bucket}[5m])))", {"quantile": q})
        for q in ("0.5", "0.9", "0.99")
    ]


_MAX_PER_METER = "max by (company, plant, unit, stack, meter)"

CONSENSUS_RECORDS = [
    Record("member:carbonlab_height:max", 'max by (member, organisation) (carbonlab_height{job="node"})'),
    Record("cluster:carbonlab_height:max", 'max(carbonlab_height{job="node"})'),
    Record(
        "member:carbonlab_lag_blocks:current",
        'scalar(max(carbonlab_height{job="node"}))'
        ' - max by (member, organisation) (carbonlab_height{job="node"})',
    ),
    Record("member:carbonlab_view:max", 'max by (member, organisation) (carbonlab_view{job="node"})'),
    Record(
        "member:carbonlab_is_primary:max", 'max by (member, organisation) (carbonlab_is_primary{job="node"})'
    ),
    *_quantiles(
        "cluster_quantile:carbonlab_commit_latency_seconds:rate5m",
        'carbonlab_commit_latency_seconds_bucket{job="node"}',
        "",
    ),
    *_quantiles(
        "member_quantile:carbonlab_commit_latency_seconds:rate5m",
        'carbonlab_commit_latency_seconds_bucket{job="node"}',
        "member",
    ),
    Record(
        "member:carbonlab_blocks_committed:rate5m",
        'sum by (member) (rate(carbonlab_blocks_committed_total{job="node"}[5m]))',
    ),
    Record(
        "cluster:carbonlab_blocks_committed:rate5m",
        'max(sum by (member) (rate(carbonlab_blocks_committed_total{job="node"}[5m])))',
    ),
    Record(
        "cluster:carbonlab_blocks_committed:increase10m",
        "max(sum by (member) (increase("
        f'carbonlab_blocks_committed_total{{job="node"}}[{NO_COMMIT_WINDOW}])))',
    ),
    Record(
        "cluster:carbonlab_readings_committed:rate5m",
        'max(sum by (member) (rate(carbonlab_readings_committed_total{job="node"}[5m])))',
    ),
    Record(
        "member_type_direction:carbonlab_messages:rate5m",
        'sum by (member, type, direction) (rate(carbonlab_messages_total{job="node"}[5m]))',
    ),
    Record(
        "member:carbonlab_view_changes:increase10m",
        'sum by (member) (increase(carbonlab_view_changes_total{job="node"}[10m]))',
    ),
    Record(
        "cluster:carbonlab_view_changes:increase10m",
        'max(sum by (member) (increase(carbonlab_view_changes_total{job="node"}[10m])))',
    ),
    Record("member:carbonlab_peers_connected:max", 'max by (member) (carbonlab_peers_connected{job="node"})'),
    Record("member_peer:carbonlab_peer_up:max", 'max by (member, peer) (carbonlab_peer_up{job="node"})'),
    Record(
        "member:carbonlab_state_transfers:increase1h",
        'sum by (member) (increase(carbonlab_state_transfers_total{job="node"}[1h]))',
    ),
    Record(
        "member_reason:carbonlab_frame_errors:rate5m",
        'sum by (member, reason) (rate(carbonlab_frame_errors_total{job="node"}[5m]))',
    ),
]

EMISSION_RECORDS = [
    Record(
        "meter:carbonlab_co2_kg_per_hour:rate5m",
        f'{_MAX_PER_METER} (rate(carbonlab_co2_kg_total{{job="node"}}[5m])) * 3600',
    ),
    Record(
        "company:carbonlab_co2_kg_per_hour:rate5m",
        "sum by (company) (meter:carbonlab_co2_kg_per_hour:rate5m)",
    ),
    Record(
        "plant:carbonlab_co2_kg_per_hour:rate5m",
        "sum by (company, plant) (meter:carbonlab_co2_kg_per_hour:rate5m)",
    ),
    Record(
        "unit:carbonlab_co2_kg_per_hour:rate5m",
        "sum by (company, plant, unit) (meter:carbonlab_co2_kg_per_hour:rate5m)",
    ),
    Record(
        "stack:carbonlab_co2_kg_per_hour:rate5m",
        "sum by (company, plant, unit, stack) (meter:carbonlab_co2_kg_per_hour:rate5m)",
    ),
    Record(
        "company_plant:carbonlab_co2_kg:total",
        f'sum by (company, plant) ({_MAX_PER_METER} (carbonlab_co2_kg_total{{job="node"}}))',
    ),
    Record("company:carbonlab_co2_kg:total", "sum by (company) (company_plant:carbonlab_co2_kg:total)"),
    Record(
        "meter:carbonlab_readings_committed:rate5m",
        f'{_MAX_PER_METER} (rate(carbonlab_readings_committed_total{{job="node"}}[5m]))',
    ),
    Record(
        "meter_kind:carbonlab_anomalies:increase1h",
        'max by (meter, kind) (increase(carbonlab_anomalies_total{job="node"}[1h]))',
    ),
    Record(
        "reason:carbonlab_batches_rejected:increase1h",
        'max by (reason) (increase(carbonlab_batches_rejected_total{job="node"}[1h]))',
    ),
    Record(
        "gateway_meter:carbonlab_gateway_poll_availability:ratio_rate5m",
        '(sum by (gateway, meter) (rate(carbonlab_gateway_polls_total{job="gateway",result="ok"}[5m]))'
        ' or 0 * sum by (gateway, meter) (rate(carbonlab_gateway_polls_total{job="gateway"}[5m])))'
        ' / sum by (gateway, meter) (rate(carbonlab_gateway_polls_total{job="gateway"}[5m]))',
    ),
    *_quantiles(
        "gateway_quantile:carbonlab_gateway_poll_latency_seconds:rate5m",
        'carbonlab_gateway_poll_latency_seconds_bucket{job="gateway"}',
        "gateway",
    ),
    Record(
        "gateway:carbonlab_gateway_outbox_depth:max",
        'max by (gateway) (carbonlab_gateway_outbox_depth{job="gateway"})',
    ),
    Record(
        "gateway:carbonlab_gateway_outbox_depth:deriv10m",
        'max by (gateway) (deriv(carbonlab_gateway_outbox_depth{job="gateway"}[10m]))',
    ),
    Record(
        "gateway:carbonlab_gateway_outbox_oldest_age_seconds:max",
        'max by (gateway) (carbonlab_gateway_outbox_oldest_age_seconds{job="gateway"})',
    ),
    Record(
        "gateway_result:carbonlab_gateway_uploads:rate5m",
        'sum by (gateway, result) (rate(carbonlab_gateway_uploads_total{job="gateway"}[5m]))',
    ),
    Record(
        "gateway_flag:carbonlab_gateway_intervals:increase1h",
        'sum by (gateway, flag) (increase(carbonlab_gateway_intervals_total{job="gateway"}[1h]))',
    ),
    Record(
        "gateway_meter:carbonlab_gateway_forecast_co2_kg:max",
        'max by (gateway, meter) (carbonlab_gateway_forecast_co2_kg{job="gateway"})',
    ),
]

RIG_RECORDS = [
    Record(
        "fault_action:carbonlab_rig_faults:increase1h",
        'sum by (fault, action) (increase(carbonlab_rig_faults_total{job="rig"}[1h]))',
    ),
    Record("fault:carbonlab_rig_fault_active:max", 'max by (fault) (carbonlab_rig_fault_active{job="rig"})'),
    Record(
        "invariant:carbonlab_rig_invariant_ok:min",
        'min by (invariant) (carbonlab_rig_invariant_ok{job="rig"})',
    ),
]

ALERTS = [
    Alert(
        "CarbonlabMemberDown",
        'up{job="node"} == 0',
        "30s",
        "critical",
        "Member {{ $labels.member }} ({{ $labels.organisation }}) does not answer its scrape.",
    ),
    Alert(
        "CarbonlabMemberLagging",
        f"member:carbonlab_lag_blocks:current >= {LAG_BLOCKS}",
        "1m",
        "warning",
        f"Member {{{{ $labels.member }}}} is {{{{ $value }}}} blocks behind (threshold {LAG_BLOCKS}).",
    ),
    Alert(
        "CarbonlabNoCommit",
        "cluster:carbonlab_blocks_committed:increase10m == 0",
        "1m",
        "critical",
        f"No member committed a block in the last {NO_COMMIT_WINDOW}.",
    ),
    Alert(
        "CarbonlabViewChangeStorm",
        f"cluster:carbonlab_view_changes:increase10m > {VIEW_CHANGE_STORM}",
        "0s",
        "warning",
        "{{ $value }} view changes in 10 minutes.",
    ),
    Alert(
        "CarbonlabGatewayDown",
        'up{job="gateway"} == 0',
        "1m",
        "critical",
        "Gateway {{ $labels.gateway }} does not answer its scrape.",
    ),
    Alert(
        "CarbonlabGatewayBacklogGrowing",
        f"gateway:carbonlab_gateway_outbox_depth:deriv10m > 0"
        f" and gateway:carbonlab_gateway_outbox_depth:max >= {BACKLOG_MIN_DEPTH}",
        "5m",
        "warning",
        "Gateway {{ $labels.gateway }} outbox keeps growing.",
    ),
    Alert(
        "CarbonlabMeterAvailabilityLow",
        f"gateway_meter:carbonlab_gateway_poll_availability:ratio_rate5m < {AVAILABILITY_MIN}",
        "5m",
        "warning",
        "Meter {{ $labels.meter }} on {{ $labels.gateway }}: {{ $value | humanizePercentage }} good polls.",
    ),
    Alert(
        "CarbonlabInvariantBroken",
        "invariant:carbonlab_rig_invariant_ok:min == 0",
        "0s",
        "critical",
        "Rig invariant {{ $labels.invariant }} failed.",
    ),
]

RECORDING_GROUPS = {
    "carbonlab_consensus": CONSENSUS_RECORDS,
    "carbonlab_emissions": EMISSION_RECORDS,
    "carbonlab_rig": RIG_RECORDS,
}


def recording_rules() -> dict[str, Any]:
    """The recording rule file (one group per dashboard)."""
    return {
        "groups": [
            {"name": name, "rules": [r.to_dict() for r in records]}
            for name, records in RECORDING_GROUPS.items()
        ]
    }


def alerting_rules() -> dict[str, Any]:
    return {"groups": [{"name": "carbonlab_alerts", "rules": [a.to_dict() for a in ALERTS]}]}


def all_records() -> list[Record]:
    return [r for records in RECORDING_GROUPS.values() for r in records]


def record_names() -> set[str]:
    return {r.record for r in all_records()}
