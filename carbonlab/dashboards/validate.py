"""Checks a dashboard's JSON against Grafana's v1 dashboard schema.

Two checks, both must pass:

1. Our own structural check of the v1 fields we use (types, unique ids and refIds, the grid,
   thresholds in ascending order, every `$variable` in a query declared in `templating`, every
   panel on the `${datasource}` variable). It needs nothing but the JSON.
2. A round trip through grafana-foundation-sdk's generated models (`Dashboard.from_json` then
   back to JSON): a key the schema does not know is dropped by the models, so any key of ours
   missing after the round trip, or any value changed, is a schema violation. The SDK is a `dev`
   dependency: `check()` runs this part only where it is installed, and
   `sdk_roundtrip_problems` raises DashboardSchemaError when it is not.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carbonlab.dashboards.errors import DashboardSchemaError
from carbonlab.dashboards.model import GRID_COLUMNS

PANEL_TYPES = {"timeseries", "stat", "state-timeline", "bargauge", "table", "text", "row"}
VARIABLE_TYPES = {"query", "textbox", "constant", "datasource", "custom", "interval"}
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VAR_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_BUILTIN_VARS = {"__all", "__interval", "__rate_interval", "__range", "__interval_ms", "__range_s"}


def _need(problems: list[str], where: str, value: Any, kind: type | tuple[type, ...], what: str) -> bool:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        problems.append(f"{where}: {what} must be a number, got a bool")
        return False
    if not isinstance(value, kind):
        problems.append(f"{where}: {what} must be {kind}, got {type(value).__name__}")
        return False
    return True


def structural_problems(dash: dict[str, Any]) -> list[str]:
    """Every violation of the v1 fields we rely on, as 'where: what' lines (empty: valid)."""
    p: list[str] = []
    uid = dash.get("uid")
    if not isinstance(uid, str) or not _UID.match(uid):
        p.append(f"dashboard: uid {uid!r} must be 1-40 characters of [A-Za-z0-9_-]")
    for key, kind in (
        ("title", str),
        ("schemaVersion", int),
        ("panels", list),
        ("templating", dict),
        ("annotations", dict),
        ("time", dict),
        ("refresh", str),
        ("tags", list),
    ):
        if key not in dash:
            p.append(f"dashboard: missing {key}")
        else:
            _need(p, "dashboard", dash[key], kind, key)
    if p:
        return p
    declared: set[str] = set()
    for i, var in enumerate(dash["templating"].get("list", [])):
        where = f"templating.list[{i}]"
        if var.get("type") not in VARIABLE_TYPES:
            p.append(f"{where}: type {var.get('type')!r} not in {sorted(VARIABLE_TYPES)}")
        name = var.get("name")
        if not isinstance(name, str) or not name or name in declared:
            p.append(f"{where}: name {name!r} missing or duplicated")
        else:
            declared.add(name)
    ids: set[int] = set()
    cells: dict[tuple[int, int], str] = {}
    for i, panel in enumerate(dash["panels"]):
        where = f"panels[{i}] {panel.get('title')!r}"
        if panel.get("type") not in PANEL_TYPES:
            p.append(f"{where}: type {panel.get('type')!r} not in {sorted(PANEL_TYPES)}")
        pid = panel.get("id")
        if _need(p, where, pid, int, "id") and pid in ids:
            p.append(f"{where}: id {pid} used twice")
        ids.add(pid)
        _check_grid(p, where, panel.get("gridPos"), cells)
        if panel.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            p.append(f"{where}: datasource must be the ${{datasource}} variable")
        _check_targets(p, where, panel.get("targets"), declared)
        _check_field_config(p, where, panel.get("fieldConfig"))
    return p


def _check_grid(p: list[str], where: str, grid: Any, cells: dict[tuple[int, int], str]) -> None:
    if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) for k in "hwxy"):
        p.append(f"{where}: gridPos must have integer h, w, x, y")
        return
    if (
        grid["w"] < 1
        or grid["h"] < 1
        or grid["x"] < 0
        or grid["y"] < 0
        or grid["x"] + grid["w"] > GRID_COLUMNS
    ):
        p.append(f"{where}: gridPos {grid} is off the {GRID_COLUMNS}-column grid")
        return
    for x in range(grid["x"], grid["x"] + grid["w"]):
        for y in range(grid["y"], grid["y"] + grid["h"]):
            if (x, y) in cells:
                p.append(f"{where}: overlaps {cells[(x, y)]} at x={x} y={y}")
                return
            cells[(x, y)] = where


def _check_targets(p: list[str], where: str, targets: Any, declared: set[str]) -> None:
    if not isinstance(targets, list) or not targets:
        p.append(f"{where}: targets must be a non-empty list")
        return
    refs: set[str] = set()
    for j, t in enumerate(targets):
        tw = f"{where} targets[{j}]"
        ref = t.get("refId")
        if not isinstance(ref, str) or not ref or ref in refs:
            p.append(f"{tw}: refId {ref!r} missing or duplicated")
        refs.add(ref)
        expr = t.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            p.append(f"{tw}: expr must be a non-empty string")
            continue
        p.extend(
            f"{tw}: expr uses ${name}, which templating does not declare"
            for name in _VAR_REF.findall(expr)
            if name not in declared and name not in _BUILTIN_VARS
        )
        for key in ("range", "instant"):
            if key in t:
                _need(p, tw, t[key], bool, key)


def _check_field_config(p: list[str], where: str, fc: Any) -> None:
    if not isinstance(fc, dict) or not isinstance(fc.get("defaults"), dict):
        p.append(f"{where}: fieldConfig.defaults must be an object")
        return
    steps = fc["defaults"].get("thresholds", {}).get("steps", [])
    if not steps or steps[0].get("value") is not None:
        p.append(f"{where}: thresholds must start with a base step (value null)")
        return
    values = [s.get("value") for s in steps[1:]]
    if not all(isinstance(v, (int, float)) for v in values) or values != sorted(values):
        p.append(f"{where}: threshold values {values} must be numbers in ascending order")


def sdk_roundtrip_problems(dash: dict[str, Any]) -> list[str]:
    """Keys or values of `dash` that do not survive grafana-foundation-sdk's Dashboard model."""
    try:
        from grafana_foundation_sdk.cog.encoder import JSONEncoder
        from grafana_foundation_sdk.cog.plugins import register_default_plugins
        from grafana_foundation_sdk.models.dashboard import Dashboard
    except ImportError as exc:
        raise DashboardSchemaError(
            "grafana-foundation-sdk is not installed (pip install -e '.[dev]'): cannot check the schema"
        ) from exc
    register_default_plugins()
    back = json.loads(json.dumps(Dashboard.from_json(dash), cls=JSONEncoder))
    problems: list[str] = []
    _compare(dash, back, "dashboard", problems)
    return problems


def _compare(ours: Any, theirs: Any, path: str, problems: list[str]) -> None:
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            problems.append(f"{path}: became {type(theirs).__name__}")
            return
        for key, value in ours.items():
            if key not in theirs:
                problems.append(f"{path}.{key}: not a field of the schema")
            else:
                _compare(value, theirs[key], f"{path}.{key}", problems)
    elif isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            problems.append(f"{path}: list changed in the round trip")
            return
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _compare(a, b, f"{path}[{i}]", problems)
    elif ours != theirs:
        problems.append(f"{path}: {ours!r} became {theirs!r}")


def sdk_available() -> bool:
    try:
        import grafana_foundation_sdk  # noqa: F401
    except ImportError:
        return False
    return True


def check(dash: dict[str, Any]) -> None:
    """Raise DashboardSchemaError listing every problem of both checks.

    The SDK round trip runs where the SDK is installed (the `dev` extra: tests and CI); a lab
    controller with only the `lab` extra builds with the structural check alone, so
    `carbonlab dashboards build|check|push` never needs a development dependency.
    """
    problems = structural_problems(dash)
    if sdk_available():
        problems += sdk_roundtrip_problems(dash)
    if problems:
        raise DashboardSchemaError(
            f"dashboard {dash.get('uid')!r} breaks the v1 schema:\n  " + "\n  ".join(problems)
        )
