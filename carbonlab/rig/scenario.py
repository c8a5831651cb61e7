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
Loaded once into typed objects: each field's default and rule is declared once, on `Scenario`,
`Step` and `Expect`, and read by the shared `carbonlab.fields`; what a field cannot say about
itself (a step past `duration_s`, a fault's parameters) is checked here. Every error names the
file, the dotted field and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbonlab import fields
from carbonlab.checks import name_problem
from carbonlab.fields import FieldError, spec
from carbonlab.rig.errors import FaultError, ScenarioError
from carbonlab.rig.faults.catalogue import FAULTS, make_fault

SHIPPED = Path(__file__).parent / "scenarios"
INVARIANTS = ("agreement", "validity", "detection", "completeness", "accuracy", "liveness", "rejections",
              "flagged")
PROVIDERS = ("local", "netns", "ssh")


def _known_fault(fault: str) -> str | None:
    return None if fault in FAULTS else f"unknown fault {fault!r} (known: {', '.join(sorted(FAULTS))})"


def _invariants(names: tuple[str, ...]) -> str | None:
    bad = [x for x in names if x not in INVARIANTS]
    return f"unknown invariant(s) {bad} (known: {', '.join(INVARIANTS)})" if bad else None


def _providers(names: tuple[str, ...]) -> str | None:
    ok = all(n in PROVIDERS for n in names)
    return None if ok else f"providers are {', '.join(PROVIDERS)}; got {list(names)}"


@dataclass(frozen=True)
class Step:
    at_s: float = spec(lo=0.0)
    fault: str = spec(check=_known_fault)
    target: str = spec()
    params: dict[str, Any] = field(default_factory=dict)   # checked by the fault itself (make_fault)
    for_s: float | None = spec(None, lo=0.0)                  # None: healed at the end


@dataclass(frozen=True)
class Expect:
    progress: bool = spec(True)
    recovery_s: float = spec(90.0, lo=1.0)
    accuracy_tolerance_pct: float = spec(2.0, lo=0.0)
    report_only: tuple[str, ...] = spec((), allow_empty=True, check=_invariants)
    rejections: dict[str, str] = field(default_factory=dict)
    # meters whose faulty readings must carry an anomaly mark
    flagged: tuple[str, ...] = spec((), allow_empty=True)
    detect_s: float = spec(30.0, lo=0.0)   # failure detection allowed before progress is owed


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str = spec(check=name_problem)   # its report folder's name: no path, no '..'
    duration_s: float = spec(lo=1.0)
    timeline: tuple[Step, ...] = ()
    summary: str = spec("", allow_empty=True)
    seed: int = spec(0)
    settle_s: float = spec(10.0, lo=0.0)
    needs: tuple[str, ...] = spec((), allow_empty=True, check=_providers)
    expect: Expect = field(default_factory=Expect)


TABLES = ("timeline", "expect")     # read apart: a list of Steps, and Expect with its rejections
SCALARS = ("name", "duration_s", "summary", "seed", "settle_s", "needs")


def load(path: Path) -> Scenario:
    try:
        return _read(path, fields.document(path, "scenario", syntax="yaml"))
    except FieldError as exc:
        raise ScenarioError(f"{exc.file}: {exc.field}: {exc.problem}" if exc.field else str(exc)) from None


def _read(path: Path, raw: Any) -> Scenario:
    file = str(path)
    top = fields.values(Scenario, raw, file=file, names=SCALARS, allowed=TABLES)
    timeline = raw.get("timeline")
    if not isinstance(timeline, list):
        raise FieldError(file, "timeline", "is required" if timeline is None else "must be a list of steps")
    steps = [_step(file, f"timeline[{i}]", item, top["duration_s"]) for i, item in enumerate(timeline)]
    e = raw.get("expect") or {}
    checked = fields.values(Expect, e, file=file, prefix="expect.", allowed=("rejections",),
                            names=[n for n in Expect.__dataclass_fields__ if n != "rejections"])
    rejections = e.get("rejections") or {}
    if not isinstance(rejections, dict):
        raise FieldError(file, "expect.rejections", f"must be a mapping, got {type(rejections).__name__}")
    return Scenario(path, timeline=tuple(sorted(steps, key=lambda st: st.at_s)),
                    expect=Expect(rejections=dict(rejections), **checked), **top)


def _step(file: str, where: str, item: Any, duration: float) -> Step:
    s = fields.values(Step, item, file=file, prefix=f"{where}.", allowed=("params",),
                      names=("at_s", "fault", "target", "for_s"))
    for_s = s["for_s"]
    if s["at_s"] > duration or (for_s is not None and s["at_s"] + for_s > duration):
        raise FieldError(file, where, f"reaches past duration_s={duration:g}")
    params = item.get("params") or {}
    if not isinstance(params, dict):
        raise FieldError(file, f"{where}.params", f"must be a mapping, got {type(params).__name__}")
    try:
        make_fault(s["fault"], s["target"], params)   # parameters checked now, not mid-run
    except FaultError as exc:
        raise FieldError(file, where, str(exc)) from None
    return Step(params=dict(params), **s)


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
