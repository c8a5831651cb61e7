"""The key figures of the dashboards as text, for demo machines without Grafana (`lab watch`).

The same recording rules the panels read, fetched from Prometheus's HTTP API: every member's
liveness, height, lag, view and primary; CO2 per plant; each gateway's backlog; each meter's
data availability. `fetch()` returns the numbers, `render()` lays them out as lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx

from carbonlab.dashboards.errors import DashboardsError


@dataclass(frozen=True)
class Figure:
    title: str
    expr: str
    key: str  # the label naming each row
    fmt: str = "{:.0f}"


KEY_FIGURES = (
    Figure("up", 'up{job="node"}', "member"),
    Figure("height", "member:carbonlab_height:max", "member"),
    Figure("behind", "member:carbonlab_lag_blocks:current", "member"),
    Figure("view", "member:carbonlab_view:max", "member"),
    Figure("primary", "member:carbonlab_is_primary:max == 1", "member"),
    Figure("CO2 kg/h", "plant:carbonlab_co2_kg_per_hour:rate5m", "plant", "{:.1f}"),
    Figure("outbox", "gateway:carbonlab_gateway_outbox_depth:max", "gateway"),
    Figure(
        "availability", "gateway_meter:carbonlab_gateway_poll_availability:ratio_rate5m", "meter", "{:.1%}"
    ),
)


def fetch(prometheus_url: str, *, timeout_s: float = 5.0) -> dict[str, dict[str, float]]:
    """{figure title: {row label: value}} for every key figure (a figure with no data is empty)."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=prometheus_url.rstrip("/"), timeout=timeout_s) as client:
        for fig in KEY_FIGURES:
            try:
                r = client.get("/api/v1/query", params={"query": fig.expr})
                body = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise DashboardsError(f"cannot query Prometheus at {prometheus_url}: {exc}") from exc
            if body.get("status") != "success":
                raise DashboardsError(f"Prometheus refused {fig.expr!r}: {body.get('error', body)}")
            out[fig.title] = {
                s["metric"].get(fig.key, "?"): float(s["value"][1]) for s in body["data"]["result"]
            }
    return out


def render(values: dict[str, dict[str, float]]) -> str:
    lines = []
    for fig in KEY_FIGURES:
        rows = values.get(fig.title, {})
        cells = ", ".join(
            f"{k} {'-' if math.isnan(v) else fig.fmt.format(v)}" for k, v in sorted(rows.items())
        )
        lines.append(f"{fig.title:<13} {cells or 'no data'}")
    return "\n".join(lines)
