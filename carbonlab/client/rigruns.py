"""The rig's scenario runs, as the console shows them: read from the runs' `run.json` files.

The rig (`carbonlab rig run --report DIR`) writes `DIR/<scenario>/run.json` when a scenario
ends (`carbonlab.rig.runner`). The console is given the lab directory and reads
`<lab-dir>/rig-reports/*/run.json`, newest first, at every refresh, so a run appears on the
rig page as soon as it is written. The console may not import the rig (docs/architecture.md),
so this module reads the few fields it shows with node's JSON checks; a file that is not a
run (unreadable, or a field of the wrong type) is listed with the problem, never skipped
silently, and never stops the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab import jsonfile

MAX_RUNS = 20
MAX_RUN_BYTES = 64 * 1024 * 1024
REPORTS = "rig-reports"


@dataclass(frozen=True, slots=True)
class FaultLine:
    fault: str
    target: str
    applied_s: float | None       # seconds after the run started
    healed_s: float | None
    what: str
    error: str


@dataclass(frozen=True, slots=True)
class InvariantLine:
    name: str
    passed: bool
    summary: str
    report_only: bool


@dataclass(frozen=True, slots=True)
class RigRun:
    path: Path
    scenario: str
    verdict: str                  # PASS, FAIL, SKIPPED, or UNREADABLE
    seed: int | None
    started_at: float | None
    duration_s: float | None
    faults: tuple[FaultLine, ...]
    invariants: tuple[InvariantLine, ...]
    problem: str = ""


def runs(lab_dir: Path | None) -> list[RigRun]:
    if lab_dir is None or not (lab_dir / REPORTS).is_dir():
        return []
    files = sorted((lab_dir / REPORTS).glob("*/run.json"), key=_mtime, reverse=True)[:MAX_RUNS]
    return [read_run(f) for f in files]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def read_run(path: Path) -> RigRun:
    from carbonlab.node.errors import SchemaError

    try:
        if path.stat().st_size > MAX_RUN_BYTES:
            raise ValueError(f"larger than {MAX_RUN_BYTES} bytes")
        raw = jsonfile.load(path)   # strict: a deep or binary file is listed UNREADABLE too
        return _run(path, raw)
    except (OSError, ValueError, SchemaError) as exc:
        return RigRun(path, path.parent.name, "UNREADABLE", None, None, None, (), (), str(exc))


def _run(path: Path, raw: Any) -> RigRun:
    from carbonlab.node.schema import as_bool, as_dict, as_float, as_list, as_str

    run = as_dict(raw, "run")
    t0 = as_float(run.get("started_at", 0), "run.started_at")
    skipped = as_str(run.get("skipped", ""), "run.skipped", allow_empty=True, max_len=10_000)
    passed = as_bool(run.get("passed", False), "run.passed")
    report_only = {as_str(n, "run.report_only[]") for n in as_list(run.get("report_only", []),
                                                                    "run.report_only")}
    faults = []
    for i, f in enumerate(as_list(run.get("faults", []), "run.faults")):
        d = as_dict(f, f"run.faults[{i}]")
        faults.append(FaultLine(
            as_str(d.get("fault"), f"run.faults[{i}].fault"), str(d.get("target", "")),
            _rel(d.get("applied_at"), t0, f"run.faults[{i}].applied_at"),
            _rel(d.get("healed_at"), t0, f"run.faults[{i}].healed_at"),
            " / ".join(str(d[k]) for k in ("applied", "healed") if d.get(k)), str(d.get("error") or "")))
    invariants = []
    for i, r in enumerate(as_list(run.get("invariants", []), "run.invariants")):
        d = as_dict(r, f"run.invariants[{i}]")
        name = as_str(d.get("name"), f"run.invariants[{i}].name")
        invariants.append(InvariantLine(name, as_bool(d.get("passed"), f"run.invariants[{i}].passed"),
                                        str(d.get("summary", "")), name in report_only))
    verdict = "SKIPPED" if skipped else ("PASS" if passed else "FAIL")
    seed = run.get("seed")
    duration = run.get("duration_s")
    return RigRun(path, as_str(run.get("scenario"), "run.scenario"), verdict,
                  seed if isinstance(seed, int) else None, t0 or None,
                  as_float(duration, "run.duration_s") if duration is not None else None,
                  tuple(faults), tuple(invariants), skipped)


def _rel(value: Any, t0: float, field: str) -> float | None:
    from carbonlab.node.schema import as_float

    return None if value is None else as_float(value, field) - t0
