"""Scenario files: a timeline of faults, the load, the duration, the expectations and a seed.

```yaml
name: primary-killed
summary: The primary is SIGKILLed; the others elect a new one and go on; it restarts and catches up.
seed: 11
duration_s: 120            # faults happen inside this span; then everything is healed
settle_s: 10               # after recovery, time for the gateways to drain before the checks (default 10)
needs: []                  # providers the scenario needs, e.g. [netns] for network faults
timeline:
  - {at_s: 20, fault: node.kill, target: primary, for_s: 60}    # healed at 80 s (default: at the end)
expect:
  progress: true           # beyond f: reported (false: more than f withhold, so it must NOT advance)
  recovery_s: 90           # after the last heal every node at one height within this time
  accuracy_tolerance_pct: 2.0
  report_only: []          # invariants reported but not failing this scenario (a stated known limit)
  rejections: {}           # traffic fault id -> the reason its batch must be rejected with
  flagged: []              # meters whose readings must be on the ledger with an anomaly mark
  detect_s: 30             # failure detection (gateway fail-over, view change) before progress is owed
```
Targets are ids from the topology, or `primary` (the current primary, asked at apply time).
Loaded once into typed objects; every error names the file, the field and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from carbonlab import fields
from carbonlab.fields import FieldError, spec
from carbonlab.rig.errors import FaultError, ScenarioError
from carbonlab.rig.faults.catalogue import FAULTS, make_fault

SHIPPED = Path(__file__).parent / "scenarios"
INVARIANTS = ("agreement", "validity", "detection", "completeness", "accuracy", "liveness", "rejections",
              "flagged")
TOP = {"name", "summary", "seed", "duration_s", "settle_s", "needs", "timeline", "expect"}
STEP = {"at_s", "fault", "target", "params", "for_s"}
EXPECT = {"progress", "recovery_s", "accuracy_tolerance_pct", "report_only", "rejections", "flagged",
          "detect_s"}


@dataclass(frozen=True)
class Step:
    at_s: float
    fault: str
    target: str
    params: dict[str, Any]
    for_s: float | None = None


@dataclass(frozen=True)
class Expect:
    progress: bool = spec(True)
    recovery_s: float = spec(90.0, lo=1.0)
    accuracy_tolerance_pct: float = spec(2.0, lo=0.0)
    report_only: tuple[str, ...] = ()
    rejections: dict[str, str] = field(default_factory=dict)
    flagged: tuple[str, ...] = ()        # meters whose faulty readings must carry an anomaly mark
    detect_s: float = spec(30.0, lo=0.0)   # failure detection allowed before progress is owed


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    summary: str
    seed: int
    duration_s: float
    settle_s: float
    needs: tuple[str, ...]
    timeline: tuple[Step, ...]
    expect: Expect


def _fail(path: Path, where: str, why: str) -> ScenarioError:
    return ScenarioError(f"{path}: {where}: {why}")


def _num(path: Path, where: str, value: Any, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
        raise _fail(path, where, f"must be a number >= {lo}, got {value!r}")
    return float(value)


def _keys(path: Path, where: str, raw: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(path, where, f"must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(path, where, f"unknown field(s) {', '.join(unknown)} "
                                 f"(allowed: {', '.join(sorted(allowed))})")
    return raw


def load(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from None
    top = _keys(path, "(top)", raw, TOP)
    for name in ("name", "duration_s", "timeline"):
        if name not in top:
            raise _fail(path, name, "is required")
    if not isinstance(top["name"], str) or not top["name"]:
        raise _fail(path, "name", "must be a non-empty string")
    duration = _num(path, "duration_s", top["duration_s"], 1.0)
    steps = []
    if not isinstance(top["timeline"], list):
        raise _fail(path, "timeline", "must be a list of steps")
    for i, item in enumerate(top["timeline"]):
        where = f"timeline[{i}]"
        s = _keys(path, where, item, STEP)
        for name in ("at_s", "fault", "target"):
            if name not in s:
                raise _fail(path, f"{where}.{name}", "is required")
        if s["fault"] not in FAULTS:
            raise _fail(path, f"{where}.fault",
                        f"unknown fault {s['fault']!r} (known: {', '.join(sorted(FAULTS))})")
        at = _num(path, f"{where}.at_s", s["at_s"])
        for_s = _num(path, f"{where}.for_s", s["for_s"], 0.0) if s.get("for_s") is not None else None
        if at > duration or (for_s is not None and at + for_s > duration):
            raise _fail(path, where, f"reaches past duration_s={duration}")
        params = s.get("params") or {}
        try:
            make_fault(s["fault"], str(s["target"]), params)   # parameters checked now, not mid-run
        except FaultError as exc:
            raise _fail(path, where, str(exc)) from None
        steps.append(Step(at, s["fault"], str(s["target"]), dict(params), for_s))
    e = _keys(path, "expect", top.get("expect") or {}, EXPECT)
    report_only = tuple(e.get("report_only") or ())
    bad = [x for x in report_only if x not in INVARIANTS]
    if bad:
        raise _fail(path, "expect.report_only",
                    f"unknown invariant(s) {bad} (known: {', '.join(INVARIANTS)})")
    try:   # defaults and ranges are declared once, on Expect's fields
        checked = fields.values(Expect, e, file=str(path), prefix="expect.", allowed=EXPECT,
                                names=("progress", "recovery_s", "accuracy_tolerance_pct", "detect_s"))
    except FieldError as exc:
        raise _fail(path, exc.field, exc.problem) from None
    expect = Expect(report_only=report_only, rejections=dict(e.get("rejections") or {}),
                    flagged=tuple(e.get("flagged") or ()), **checked)
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail(path, "seed", f"must be an integer, got {seed!r}")
    needs = tuple(top.get("needs") or ())
    if any(n not in ("local", "netns", "ssh") for n in needs):
        raise _fail(path, "needs", f"providers are local, netns, ssh; got {list(needs)}")
    return Scenario(path, top["name"], str(top.get("summary", "")), seed, duration,
                    _num(path, "settle_s", top.get("settle_s", 10.0)), needs,
                    tuple(sorted(steps, key=lambda st: st.at_s)), expect)


def shipped() -> list[Scenario]:
    return [load(p) for p in sorted(SHIPPED.glob("*.yaml"))]


def find(name: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load(path)
    for scenario in shipped():
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in shipped())
    raise ScenarioError(f"no scenario {name!r} (shipped: {known}; or give a path to a .yaml file)")
