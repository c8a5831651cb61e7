"""The emissions dashboard: CO2 by company, plant, unit and stack; data quality; gateway health."""

from __future__ import annotations

from carbonlab.dashboards import rules
from carbonlab.dashboards.model import Dashboard, Panel, Query, QueryVariable, TextVariable, Threshold

PLANT = QueryVariable("plant", "Plant", 'carbonlab_co2_kg_total{job="node"}', "plant")
GATEWAY = QueryVariable("gateway", "Gateway", 'up{job="gateway"}', "gateway")
ALLOWANCE = TextVariable("allowance_t", "Allowance (t CO2)", "1000")
P = 'plant=~"$plant"'
G = 'gateway=~"$gateway"'
KG_H = "kg/h"


CO2_PER_COMPANY = Panel(
    "CO2 per company",
    "timeseries",
    (Query(f"sum by (company) (plant:carbonlab_co2_kg_per_hour:rate5m{{{P}}})", "{{company}}"),),
    width=12,
    unit=KG_H,
    stack=True,
)

CO2_PER_PLANT = Panel(
    "CO2 per plant",
    "timeseries",
    (Query(f"plant:carbonlab_co2_kg_per_hour:rate5m{{{P}}}", "{{plant}}"),),
    description="The legend shows each plant's latest and mean rate.",
    width=12,
    unit=KG_H,
    stack=True,
    legend_calcs=("lastNotNull", "mean"),
)

CO2_PER_UNIT = Panel(
    "CO2 per unit",
    "timeseries",
    (Query(f"unit:carbonlab_co2_kg_per_hour:rate5m{{{P}}}", "{{plant}} / {{unit}}"),),
    width=12,
    unit=KG_H,
)

CO2_PER_STACK = Panel(
    "CO2 per stack",
    "timeseries",
    (Query(f"stack:carbonlab_co2_kg_per_hour:rate5m{{{P}}}", "{{plant}} / {{unit}} / {{stack}}"),),
    width=12,
    unit=KG_H,
)

CUMULATIVE = Panel(
    "Cumulative CO2 against allowance",
    "timeseries",
    (
        Query(f"sum by (company) (company_plant:carbonlab_co2_kg:total{{{P}}}) / 1000", "{{company}}"),
        Query("vector($allowance_t)", "allowance"),
    ),
    description="Committed CO2 in tonnes per company; the allowance is the dashboard variable.",
    width=16,
    unit="t",
)

ALLOWANCE_USED = Panel(
    "Allowance used",
    "bargauge",
    (
        Query(
            f"sum by (company) (company_plant:carbonlab_co2_kg:total{{{P}}}) / 1000 / $allowance_t",
            "{{company}}",
            instant=True,
        ),
    ),
    width=8,
    unit="percentunit",
    min=0,
    max=1,
    thresholds=(Threshold("green", None), Threshold("yellow", 0.8), Threshold("red", 1)),
)

ANOMALIES = Panel(
    "Anomalies (1 h)",
    "timeseries",
    (Query("sum by (kind) (meter_kind:carbonlab_anomalies:increase1h)", "{{kind}}"),),
    width=12,
)

REJECTED = Panel(
    "Rejected batches (1 h)",
    "timeseries",
    (Query("reason:carbonlab_batches_rejected:increase1h", "{{reason}}"),),
    width=12,
)

AVAILABILITY = Panel(
    "Data availability per meter",
    "bargauge",
    (
        Query(
            f"gateway_meter:carbonlab_gateway_poll_availability:ratio_rate5m{{{G}}}",
            "{{gateway}} / {{meter}}",
            instant=True,
        ),
    ),
    description=f"Good polls over all polls, 5 min; below {rules.AVAILABILITY_MIN:.0%} alerts.",
    width=24,
    height=10,
    unit="percentunit",
    min=0,
    max=1,
    thresholds=(
        Threshold("red", None),
        Threshold("yellow", rules.AVAILABILITY_MIN),
        Threshold("green", 0.99),
    ),
)

BACKLOG = Panel(
    "Gateway backlog (outbox depth)",
    "timeseries",
    (Query(f"gateway:carbonlab_gateway_outbox_depth:max{{{G}}}", "{{gateway}}"),),
    width=12,
    thresholds=(Threshold("green", None), Threshold("red", rules.BACKLOG_MIN_DEPTH)),
)

OLDEST_BATCH = Panel(
    "Oldest batch in outbox",
    "timeseries",
    (Query(f"gateway:carbonlab_gateway_outbox_oldest_age_seconds:max{{{G}}}", "{{gateway}}"),),
    width=12,
    unit="s",
)

UPLOADS = Panel(
    "Uploads by result",
    "timeseries",
    (Query(f"gateway_result:carbonlab_gateway_uploads:rate5m{{{G}}}", "{{gateway}} {{result}}"),),
    width=8,
    unit="reqps",
)

INTERVALS = Panel(
    "Intervals by data flag (1 h)",
    "timeseries",
    (Query(f"gateway_flag:carbonlab_gateway_intervals:increase1h{{{G}}}", "{{gateway}} {{flag}}"),),
    width=8,
)

POLL_LATENCY = Panel(
    "Poll latency p99",
    "timeseries",
    (
        Query(
            f'gateway_quantile:carbonlab_gateway_poll_latency_seconds:rate5m{{quantile="0.99", {G}}}',
            "{{gateway}}",
        ),
    ),
    width=8,
    unit="s",
)

FORECAST = Panel(
    "Forecast against actual per meter",
    "timeseries",
    (
        Query(f"meter:carbonlab_co2_kg_per_hour:rate5m{{{P}}}", "{{meter}} actual"),
        Query(f"gateway_meter:carbonlab_gateway_forecast_co2_kg:max{{{G}}}", "{{meter}} forecast"),
    ),
    description="Committed kg/h (5 min rate) against the gateway's forecast of the next hour, kg.",
    width=24,
    height=10,
    unit=KG_H,
)


def dashboard() -> Dashboard:
    panels = (
        CO2_PER_COMPANY,
        CO2_PER_PLANT,
        CO2_PER_UNIT,
        CO2_PER_STACK,
        CUMULATIVE,
        ALLOWANCE_USED,
        ANOMALIES,
        REJECTED,
        AVAILABILITY,
        BACKLOG,
        OLDEST_BATCH,
        UPLOADS,
        INTERVALS,
        POLL_LATENCY,
        FORECAST,
    )
    return Dashboard(
        "carbonlab-emissions",
        "carbonlab / Emissions",
        "CO2 committed on the ledger, data availability and gateway health.",
        panels,
        (PLANT, GATEWAY, ALLOWANCE),
    )
