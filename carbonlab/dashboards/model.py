"""A small typed builder for Grafana dashboards (JSON model, schema v1, as file provisioning reads it).

Dashboards are written as Python values (`Dashboard`, `Panel`, `Query`, variables) and turned
into JSON by `Dashboard.to_json()`; nothing is written by hand. Panels are laid out left to right
on Grafana's 24-column grid, wrapping to a new line when a panel does not fit. Every query goes
to the Prometheus datasource chosen by the `datasource` variable, so a pushed dashboard works
against any Grafana whichever uid its Prometheus datasource has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

DATASOURCE_UID = "carbonlab-prometheus"
DATASOURCE_NAME = "carbonlab Prometheus"
DATASOURCE_VAR = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
SCHEMA_VERSION = 39
RIG_ANNOTATION_TAG = "carbonlab-rig"

PanelKind = Literal["timeseries", "stat", "state-timeline", "bargauge"]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Threshold:
    color: str
    value: float | None  # None: the base step


UP_DOWN = (Threshold("red", None), Threshold("green", 1))
UP_DOWN_TEXT = {"0": ("DOWN", "red"), "1": ("UP", "green")}


@dataclass(frozen=True)
class Panel:
    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    description: str = ""
    width: int = 12
    height: int = 8
    unit: str = "short"
    thresholds: tuple[Threshold, ...] = (Threshold("green", None),)
    mappings: dict[str, tuple[str, str]] = field(default_factory=dict)  # value -> (text, color)
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    text_mode: str = "value_and_name"  # stat panels
    stack: bool = False  # timeseries: stack the series
    legend_calcs: tuple[str, ...] = ()  # timeseries: figures shown per series in a legend table

    def __post_init__(self) -> None:
        if not 1 <= self.width <= GRID_COLUMNS:
            raise ValueError(f"panel {self.title!r}: width {self.width} is not in 1..{GRID_COLUMNS}")
        if not self.queries:
            raise ValueError(f"panel {self.title!r}: has no query")

    def _field_config(self) -> dict[str, Any]:
        color_by_thresholds = self.kind != "timeseries" or len(self.thresholds) > 1
        defaults: dict[str, Any] = {
            "unit": self.unit,
            "color": {"mode": "thresholds" if color_by_thresholds else "palette-classic"},
            "thresholds": {
                "mode": "absolute",
                "steps": [{"color": t.color, "value": t.value} for t in self.thresholds],
            },
            "mappings": (
                [
                    {
                        "type": "value",
                        "options": {
                            value: {"text": text, "color": color, "index": i}
                            for i, (value, (text, color)) in enumerate(self.mappings.items())
                        },
                    }
                ]
                if self.mappings
                else []
            ),
        }
        for key in ("min", "max", "decimals"):
            if getattr(self, key) is not None:
                defaults[key] = getattr(self, key)
        if self.kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 10 if self.stack else 0,
                "showPoints": "never",
                "spanNulls": False,
                "stacking": {"mode": "normal" if self.stack else "none", "group": "A"},
                "thresholdsStyle": {"mode": "line" if len(self.thresholds) > 1 else "off"},
            }
        return {"defaults": defaults, "overrides": []}

    def _options(self) -> dict[str, Any]:
        reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
        legend = {
            "displayMode": "table" if self.legend_calcs else "list",
            "placement": "bottom",
            "showLegend": True,
            "calcs": list(self.legend_calcs),
        }
        tooltip = {"mode": "multi", "sort": "desc"}
        if self.kind == "timeseries":
            return {"legend": legend, "tooltip": tooltip}
        if self.kind == "stat":
            return {
                "reduceOptions": reduce,
                "colorMode": "background",
                "graphMode": "none",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": self.text_mode,
            }
        if self.kind == "state-timeline":
            return {
                "showValue": "auto",
                "rowHeight": 0.9,
                "mergeValues": True,
                "alignValue": "left",
                "legend": legend,
                "tooltip": tooltip,
            }
        return {
            "reduceOptions": reduce,
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
        }

    def to_json(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        targets = []
        for i, q in enumerate(self.queries):
            targets.append(
                {
                    "refId": chr(ord("A") + i),
                    "datasource": dict(DATASOURCE_VAR),
                    "expr": q.expr,
                    "legendFormat": q.legend or "__auto",
                    "range": not q.instant,
                    "instant": q.instant,
                    "editorMode": "code",
                }
            )
        out: dict[str, Any] = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "datasource": dict(DATASOURCE_VAR),
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "targets": targets,
            "fieldConfig": self._field_config(),
            "options": self._options(),
        }
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class QueryVariable:
    """A multi-select variable filled from `label_values(selector, label)`; "All" matches `.*`."""

    name: str
    label: str
    selector: str
    label_name: str

    @property
    def query(self) -> str:
        return f"label_values({self.selector}, {self.label_name})"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "query",
            "name": self.name,
            "label": self.label,
            "datasource": dict(DATASOURCE_VAR),
            "query": self.query,
            "refresh": 2,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "sort": 1,
            "regex": "",
            "hide": 0,
            "skipUrlSync": False,
        }


@dataclass(frozen=True)
class TextVariable:
    """A free-text variable with a default, e.g. an emission allowance a presenter may change."""

    name: str
    label: str
    default: str

    def to_json(self) -> dict[str, Any]:
        current = {"selected": True, "text": self.default, "value": self.default}
        return {
            "type": "textbox",
            "name": self.name,
            "label": self.label,
            "query": self.default,
            "current": current,
            "options": [current],
            "hide": 0,
            "skipUrlSync": False,
        }


def _datasource_variable() -> dict[str, Any]:
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Prometheus",
        "query": "prometheus",
        "current": {"selected": True, "text": DATASOURCE_NAME, "value": DATASOURCE_UID},
        "options": [],
        "refresh": 1,
        "regex": "",
        "hide": 0,
        "skipUrlSync": False,
        "multi": False,
        "includeAll": False,
    }


def _annotations() -> dict[str, Any]:
    grafana = {"type": "grafana", "uid": "-- Grafana --"}
    return {
        "list": [
            {
                "name": "Annotations & Alerts",
                "datasource": grafana,
                "enable": True,
                "hide": True,
                "iconColor": "rgba(0, 211, 255, 1)",
                "type": "dashboard",
            },
            {
                "name": "Rig faults",
                "datasource": grafana,
                "enable": True,
                "hide": False,
                "iconColor": "red",
                "target": {"type": "tags", "tags": [RIG_ANNOTATION_TAG], "limit": 200, "matchAny": True},
            },
        ]
    }


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[QueryVariable | TextVariable, ...] = ()
    tags: tuple[str, ...] = ("carbonlab",)
    refresh: str = "5s"
    time_from: str = "now-30m"

    def layout(self) -> list[tuple[Panel, int, int]]:
        """(panel, x, y) for every panel, packed left to right on the 24-column grid."""
        placed: list[tuple[Panel, int, int]] = []
        x = y = line_height = 0
        for p in self.panels:
            if x + p.width > GRID_COLUMNS:
                x, y, line_height = 0, y + line_height, 0
            placed.append((p, x, y))
            x += p.width
            line_height = max(line_height, p.height)
        return placed

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "links": [],
            "templating": {"list": [_datasource_variable(), *(v.to_json() for v in self.variables)]},
            "annotations": _annotations(),
            "panels": [p.to_json(i, x, y) for i, (p, x, y) in enumerate(self.layout(), start=1)],
        }


def queries(dashboard: Dashboard) -> Sequence[tuple[str, Query]]:
    """(panel title, query) for every query of a dashboard: what the live test evaluates."""
    return [(p.title, q) for p in dashboard.panels for q in p.queries]
