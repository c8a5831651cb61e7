"""The metric names the dashboards and rules read, as fixed in notes/INTERFACES.md.

One place for every name, with its type and labels, so that the rules, the dashboards, the
test exporter and the name check against the node and gateway code all agree. Labels listed
here are the ones the exporting process sets; Prometheus adds the target labels of
`scrape.ScrapeTarget` (`member`, `organisation`, `gateway`, `plant`, `host`) and `job`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["gauge", "counter", "histogram"]


@dataclass(frozen=True)
class MetricName:
    name: str
    type: MetricType
    labels: tuple[str, ...]
    job: str
    help: str


NODE_METRICS = (
    MetricName("carbonlab_height", "gauge", (), "node", "Height of the last committed block."),
    MetricName("carbonlab_view", "gauge", (), "node", "Current PBFT view."),
    MetricName("carbonlab_is_primary", "gauge", (), "node", "1 when this member is the primary of its view."),
    MetricName(
        "carbonlab_commit_latency_seconds",
        "histogram",
        (),
        "node",
        "Time from a batch's arrival to its block's commit.",
    ),
    MetricName("carbonlab_blocks_committed_total", "counter", (), "node", "Blocks committed."),
    MetricName(
        "carbonlab_readings_committed_total",
        "counter",
        ("plant", "company", "unit", "stack", "meter"),
        "node",
        "Readings committed.",
    ),
    MetricName(
        "carbonlab_co2_kg_total",
        "counter",
        ("company", "plant", "unit", "stack", "meter"),
        "node",
        "CO2 mass committed, kg.",
    ),
    MetricName("carbonlab_messages_total", "counter", ("type", "direction"), "node", "Consensus messages."),
    MetricName("carbonlab_view_changes_total", "counter", (), "node", "View changes."),
    MetricName("carbonlab_peers_connected", "gauge", (), "node", "Members connected."),
    MetricName("carbonlab_peer_up", "gauge", ("peer",), "node", "1 when the member is connected to peer."),
    MetricName("carbonlab_state_transfers_total", "counter", (), "node", "State transfers."),
    MetricName(
        "carbonlab_batches_rejected_total", "counter", ("reason",), "node", "Batches the contract rejected."
    ),
    MetricName(
        "carbonlab_frame_errors_total", "counter", ("reason",), "node", "Undecodable frames from peers."
    ),
    MetricName(
        "carbonlab_anomalies_total", "counter", ("kind", "meter"), "node", "Readings marked anomalous."
    ),
)

# The forecast gauge is defined here for the gateway: the gateway's forecast of the meter's CO2
# mass over the coming hour, in kg (so directly comparable with the committed kg per hour).
FORECAST_METRIC = "carbonlab_gateway_forecast_co2_kg"

GATEWAY_METRICS = (
    MetricName("carbonlab_gateway_polls_total", "counter", ("meter", "result"), "gateway", "Modbus polls."),
    MetricName("carbonlab_gateway_poll_latency_seconds", "histogram", ("meter",), "gateway", "Poll latency."),
    MetricName("carbonlab_gateway_outbox_depth", "gauge", (), "gateway", "Batches waiting in the outbox."),
    MetricName(
        "carbonlab_gateway_outbox_oldest_age_seconds",
        "gauge",
        (),
        "gateway",
        "Age of the oldest batch in the outbox.",
    ),
    MetricName("carbonlab_gateway_uploads_total", "counter", ("node", "result"), "gateway", "Batch uploads."),
    MetricName(
        "carbonlab_gateway_intervals_total",
        "counter",
        ("meter", "flag"),
        "gateway",
        "Intervals closed, by HJ 212 data flag.",
    ),
    MetricName(FORECAST_METRIC, "gauge", ("meter",), "gateway", "Forecast CO2 mass over the next hour, kg."),
)

RIG_METRICS = (
    MetricName(
        "carbonlab_rig_faults_total",
        "counter",
        ("fault", "action"),
        "rig",
        "Faults the rig applied (action=apply) and healed (action=heal).",
    ),
    MetricName("carbonlab_rig_fault_active", "gauge", ("fault",), "rig", "1 while the fault is applied."),
    MetricName(
        "carbonlab_rig_invariant_ok",
        "gauge",
        ("invariant",),
        "rig",
        "1 when the invariant held at its last check, 0 when it failed.",
    ),
)

ALL_METRICS = NODE_METRICS + GATEWAY_METRICS + RIG_METRICS

# The `result` value of carbonlab_gateway_polls_total that counts as data available.
POLL_OK = "ok"


def exposed_names(metric: MetricName) -> tuple[str, ...]:
    """The series names a metric exposes in the text format (a histogram has three)."""
    if metric.type == "histogram":
        return (f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count")
    return (metric.name,)
