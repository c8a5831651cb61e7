"""The dashboards' key figures as text, for demo machines without Grafana (`lab watch`).

Theory of operation: a figure does not hold a query of its own. It names a panel of the
consensus or emissions dashboard (the module constants in consensus.py and emissions.py) and
the index of one of its queries; its expression is that query with every dashboard variable at
its default ("All" is `.*`, a text variable its default value), exactly what Grafana sends when
a dashboard opens. The terminal therefore shows the very numbers the panels plot, and a panel
whose query changes changes the terminal with it. `fetch()` evaluates each expression once
(instant query) against Prometheus's HTTP API; `render()` lays the numbers out as a screen:
members (UP/DOWN from raw `up`, height, blocks behind, view, primary, peers, p99 commit
latency), commit latency quantiles and throughput, CO2 per plant and per company, gateways
(UP/DOWN, backlog, oldest batch) and data availability per meter. Both are pure apart from the
HTTP calls of `fetch()`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from carbonlab.dashboards import consensus, emissions, rules
from carbonlab.dashboards.errors import DashboardsError
from carbonlab.dashboards.model import Panel, Query, QueryVariable, TextVariable

# Every variable the panels below may use, at the default a freshly opened dashboard has.
VARIABLES: tuple[QueryVariable | TextVariable, ...] = (
    consensus.NODE,
    emissions.PLANT,
    emissions.GATEWAY,
    emissions.ALLOWANCE,
)
VARIABLE_RE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")

# {figure name: {row label: value}}; a figure without data has an empty mapping.
Values = dict[str, dict[str, float]]


def expand(expr: str, variables: tuple[QueryVariable | TextVariable, ...] = VARIABLES) -> str:
    """`expr` as Grafana sends it with every variable at its default; an unknown one is an error."""
    defaults = {v.name: ".*" if isinstance(v, QueryVariable) else v.default for v in variables}

    def value(m: re.Match[str]) -> str:
        if m.group(1) not in defaults:
            raise DashboardsError(f"query {expr!r} uses ${m.group(1)}, which no dashboard defines")
        return defaults[m.group(1)]

    return VARIABLE_RE.sub(value, expr)


@dataclass(frozen=True)
class Figure:
    name: str
    source: Panel | Query  # a dashboard panel (its query `index`) or a dashboard variable's selector
    key: str  # the label naming each row ("" for a single number)
    index: int = 0

    @property
    def query(self) -> Query:
        return self.source if isinstance(self.source, Query) else self.source.queries[self.index]

    @property
    def expr(self) -> str:
        return expand(self.query.expr)


# The member's and gateway's liveness read raw `up`, as the "Members up" panel and the gateway
# variable do: DOWN at the first failed scrape.
MEMBER_FIGURES = (
    Figure("up", consensus.MEMBERS_UP, "member"),
    Figure("height", consensus.HEIGHT, "member"),
    Figure("behind", consensus.LAG, "member"),
    Figure("view", consensus.VIEW_PER_MEMBER, "member"),
    Figure("primary", consensus.PRIMARY, "member"),
    Figure("peers", consensus.PEERS, "member"),
    Figure("commit p99", consensus.COMMIT_LATENCY_P99, "member"),
)
CLUSTER_FIGURES = (
    Figure("commit latency", consensus.COMMIT_LATENCY, "quantile"),
    Figure("blocks/s", consensus.THROUGHPUT, "", 0),
    Figure("readings/s", consensus.THROUGHPUT, "", 1),
)
EMISSION_FIGURES = (
    Figure("CO2 kg/h", emissions.CO2_PER_PLANT, "plant"),
    Figure("CO2 t", emissions.CUMULATIVE, "company", 0),
)
GATEWAY_FIGURES = (
    Figure("gateway up", Query(emissions.GATEWAY.selector), "gateway"),
    Figure("backlog", emissions.BACKLOG, "gateway"),
    Figure("oldest", emissions.OLDEST_BATCH, "gateway"),
    Figure("availability", emissions.AVAILABILITY, "meter"),
)
KEY_FIGURES = MEMBER_FIGURES + CLUSTER_FIGURES + EMISSION_FIGURES + GATEWAY_FIGURES


def fetch(prometheus_url: str, *, timeout_s: float = 5.0) -> Values:
    """{figure name: {row label: value}} for every key figure (a figure with no data is empty)."""
    out: Values = {}
    with httpx.Client(base_url=prometheus_url.rstrip("/"), timeout=timeout_s) as client:
        for fig in KEY_FIGURES:
            try:
                r = client.post("/api/v1/query", data={"query": fig.expr})
                body = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise DashboardsError(f"cannot query Prometheus at {prometheus_url}: {exc}") from exc
            if not isinstance(body, dict) or body.get("status") != "success":
                error = body.get("error", body) if isinstance(body, dict) else body
                raise DashboardsError(f"Prometheus at {prometheus_url} refused {fig.expr!r}: {error}")
            out[fig.name] = {
                s["metric"].get(fig.key, "") if fig.key else "": float(s["value"][1])
                for s in body["data"]["result"]
            }
    return out


# rendering ------------------------------------------------------------------------------------
RED, GREEN, YELLOW, RESET = "\x1b[31;1m", "\x1b[32m", "\x1b[33m", "\x1b[0m"


def _natural(label: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label))


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None or math.isnan(value) else fmt.format(value)


def _paint(text: str, color: str, on: bool) -> str:
    return f"{color}{text}{RESET}" if on and color else text


def _state(value: float | None, on: bool, width: int) -> str:
    if value is None:
        return f"{'?':<{width}}"
    if value >= 1:
        return _paint(f"{'UP':<{width}}", GREEN, on)
    return _paint(f"{'DOWN':<{width}}", RED, on)


def _members(values: Mapping[str, Mapping[str, float]], color: bool) -> list[str]:
    get = {f.name: values.get(f.name, {}) for f in MEMBER_FIGURES}
    members = sorted({m for rows in get.values() for m in rows}, key=_natural)
    lines = [
        f"{'member':<8} {'state':<5} {'height':>7} {'behind':>6} {'view':>5} {'primary':<7} "
        f"{'peers':>5} {'commit p99':>10}"
    ]
    if not members:
        return [*lines, "(no member scraped yet)"]
    for m in members:
        behind = get["behind"].get(m)
        lag = f"{_num(behind, '{:.0f}'):>6}"
        if behind is not None and behind >= rules.LAG_BLOCKS:
            lag = _paint(lag, RED, color)
        elif behind is not None and behind >= 1:
            lag = _paint(lag, YELLOW, color)
        lines.append(
            f"{m:<8} {_state(get['up'].get(m), color, 5)} {_num(get['height'].get(m), '{:.0f}'):>7} {lag} "
            f"{_num(get['view'].get(m), '{:.0f}'):>5} {'yes' if m in get['primary'] else '':<7} "
            f"{_num(get['peers'].get(m), '{:.0f}'):>5} {_num(get['commit p99'].get(m), '{:.3f} s'):>10}"
        )
    return lines


def _row(title: str, cells: list[str]) -> str:
    return f"{title:<16} {'  '.join(cells) if cells else 'no data yet'}"


def render(values: Mapping[str, Mapping[str, float]], *, color: bool = False) -> str:
    """The screen: members, consensus, emissions, gateways and meters. DOWN and far-behind members
    are red when `color` (a terminal)."""
    lines = _members(values, color)
    latency = values.get("commit latency", {})
    lines += [
        "",
        _row(
            "commit latency",
            [
                f"p{float(q) * 100:g} {_num(v, '{:.3f} s')}"
                for q, v in sorted(latency.items(), key=lambda kv: float(kv[0]))
            ],
        ),
        _row(
            "throughput",
            [
                f"{_num(values.get(n, {}).get(''), '{:.2f}')} {n}"
                for n in ("blocks/s", "readings/s")
                if values.get(n)
            ],
        ),
        "",
        _row(
            "CO2 per plant",
            [
                f"{p} {_num(v, '{:.1f}')} kg/h"
                for p, v in sorted(values.get("CO2 kg/h", {}).items(), key=lambda kv: _natural(kv[0]))
            ],
        ),
        _row(
            "CO2 committed",
            [
                f"{c} {_num(v, '{:.3f}')} t"
                for c, v in sorted(values.get("CO2 t", {}).items(), key=lambda kv: _natural(kv[0]))
            ],
        ),
        "",
    ]
    up, backlog, oldest = (values.get(n, {}) for n in ("gateway up", "backlog", "oldest"))
    gateways = sorted({*up, *backlog, *oldest}, key=_natural)
    lines.append(f"{'gateway':<8} {'state':<5} {'backlog':>7} {'oldest':>8}")
    lines += [
        f"{g:<8} {_state(up.get(g), color, 5)} {_num(backlog.get(g), '{:.0f}'):>7} "
        f"{_num(oldest.get(g), '{:.0f} s'):>8}"
        for g in gateways
    ] or ["(no gateway scraped yet)"]
    availability = values.get("availability", {})
    lines.append(
        _row(
            "availability",
            [
                f"{m} {_num(v, '{:.1%}')}"
                for m, v in sorted(availability.items(), key=lambda kv: _natural(kv[0]))
            ],
        )
    )
    return "\n".join(lines)
