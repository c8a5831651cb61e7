"""Run one scenario against a bound lab and check every invariant.

Theory of operation. The sampler records each node's height once a second from the
start. The timeline's faults are applied (and healed, when the step has `for_s`) at
their offsets by this thread, each through the fault journal, so the record of what
happened when is the journal's. At `duration_s` everything still applied is healed,
except faults whose type says `heal_after_checks` (ledger tampering, which must still be
there when the checks run). The checks read each record's typed `FaultOutcome` (members
made faulty or lying, a tampered height, the answer to hostile traffic), never fault ids or
the text of the applied lines. The rig then
waits until every node reports one height (at most `recovery_s`), lets the gateways drain
for `settle_s`, and collects consistent copies of the ledgers and outboxes (SQLite's
backup API, run on each host), the meters' truth logs and each node's count of
conflicting resubmissions (its /metrics) into the report directory; the invariants run
on those. Faults left for after the checks are healed last,
and the journal heals anything still applied even when the run fails half-way.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbonlab.node.sigcache import VerifiedSignatures
from carbonlab.rig.annotations import GrafanaMarks
from carbonlab.rig.errors import RigError
from carbonlab.rig.faults.base import Fault
from carbonlab.rig.faults.catalogue import make_fault
from carbonlab.rig.faults.journal import FaultJournal
from carbonlab.rig.faults.records import FaultRecord
from carbonlab.rig.invariants import (
    InvariantResult,
    accuracy,
    agreement,
    completeness,
    conflicts,
    detection,
    fault_spans,
    flagged,
    liveness,
    load_truth,
    read_conflicts,
    validity,
    windows,
)
from carbonlab.rig.labbind import RigLab
from carbonlab.rig.sampler import Sampler
from carbonlab.rig.scenario import Scenario

READY_S = 60.0   # at most this long for the lab to be level before a scenario starts


@dataclass
class ScenarioRun:
    scenario: Scenario
    lab: str
    provider: str
    started_at: float
    journal: FaultJournal
    sampler: Sampler
    results: list[InvariantResult] = field(default_factory=list)
    duration_s: float = 0.0
    cpu_pct: float = 0.0
    healed_at: float = 0.0
    converged_after_s: float | None = None
    skipped: str = ""
    report_dir: Path | None = None
    marks: GrafanaMarks | None = None
    # seconds each part of the run took (ready, timeline, recover, settle, collect, check):
    # where a slow scenario's time went
    phases_s: dict[str, float] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Record `phase` as having run from `since` to now; return now (monotonic)."""
        now = time.monotonic()
        self.phases_s[phase] = round(now - since, 2)
        return now

    @property
    def passed(self) -> bool:
        if self.skipped:
            return True
        return all(r.passed or r.name in self.scenario.expect.report_only for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "lab": self.lab, "provider": self.provider,
                "seed": self.scenario.seed, "passed": self.passed, "skipped": self.skipped,
                "duration_s": self.duration_s, "phases_s": self.phases_s, "cpu_pct": self.cpu_pct,
                "started_at": self.started_at,
                "healed_at": self.healed_at, "converged_after_s": self.converged_after_s,
                "faults": [r.to_json() for r in self.journal.records],
                "invariants": [r.to_json() for r in self.results],
                "report_only": list(self.scenario.expect.report_only),
                "grafana": self.marks.summary() if self.marks is not None else None,
                "samples": [{"t": s.t, "heights": s.heights, "views": s.views, "co2_kg": s.co2_kg}
                            for s in self.sampler.samples]}


def _cpu_s() -> float:
    """CPU time of the rig: its own process and the commands it ran and waited for (nft, tc,
    snapshots through nsenter, local shells)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_scenario(lab: RigLab, scenario: Scenario, report_dir: Path,
                 progress: Callable[[str], None] = print, marks: GrafanaMarks | None = None) -> ScenarioRun:
    """`marks`: post a Grafana annotation for every fault applied and healed (None: no Grafana)."""
    sampler = Sampler({m: ref.url for m, ref in lab.ctx.nodes.items()})
    lab.ctx.seed = scenario.seed
    run = ScenarioRun(scenario, lab.name, lab.provider, time.time(), FaultJournal(lab.ctx), sampler)
    if marks is not None:
        run.marks = GrafanaMarks(marks.annotator, marks.url, scenario.name, scenario.seed)
        run.journal.on_event = run.marks
    run.report_dir = report_dir
    if scenario.needs and lab.provider not in scenario.needs:
        run.skipped = f"needs provider {' or '.join(scenario.needs)}; the lab runs on {lab.provider}"
        return run
    report_dir.mkdir(parents=True, exist_ok=True)
    t0, cpu0 = time.monotonic(), _cpu_s()
    _ready(sampler, progress)
    mark = run.lap("ready", t0)
    sampler.samples.clear()
    run.started_at = time.time()
    sampler.start()
    try:
        _timeline(run, lab, progress)
        mark = run.lap("timeline", mark)
        _recover(run, lab, progress)
        mark = run.lap("recover", mark)
        time.sleep(scenario.settle_s)
        mark = run.lap("settle", mark)
    finally:
        sampler.stop()
        errors = []
        try:
            files = _collect(lab, report_dir, run.started_at)
            mark = run.lap("collect", mark)
            run.results = _check(run, lab, files)
            run.lap("check", mark)
        finally:
            errors = run.journal.heal_all()
        run.duration_s = time.monotonic() - t0
        run.cpu_pct = 100.0 * (_cpu_s() - cpu0) / max(run.duration_s, 1e-9)
        if errors:
            run.results.append(InvariantResult("heal", False, "faults that could not be healed", errors))
        (report_dir / "run.json").write_text(json.dumps(run.to_json(), indent=1, default=str))
    return run


def _ready(sampler: Sampler, progress: Callable[[str], None], timeout_s: float = READY_S) -> None:
    """Wait (polling) until the lab is as a scenario expects to find it: every node answers, all
    within one block of each other. On a lab shared by a whole catalogue this is what restores
    the starting point between scenarios: the previous one healed its faults, this waits for the
    nodes it restarted to catch up instead of a fixed pause."""
    deadline = time.monotonic() + timeout_s
    while True:
        heights = sampler.sample().heights
        known = [h for h in heights.values() if h is not None]
        if len(known) == len(heights) and max(known) - min(known) <= 1:
            return
        if time.monotonic() > deadline:
            progress(f"  the lab is not level after {timeout_s:.0f} s (heights {heights}); starting anyway")
            return
        time.sleep(0.5)


def _resolve(target: str, sampler: Sampler) -> str:
    if target == "primary":
        primary = sampler.primary()
        if primary is None:
            raise RigError("no node answers with its primary; cannot resolve target 'primary'")
        return primary
    return target


def _timeline(run: ScenarioRun, lab: RigLab, progress: Callable[[str], None]) -> None:
    start = time.monotonic()
    events: list[tuple[float, int, str, int]] = []
    for i, step in enumerate(run.scenario.timeline):
        events.append((step.at_s, 1, "apply", i))
        if step.for_s is not None:
            events.append((step.at_s + step.for_s, 0, "heal", i))
    events.sort()
    faults: dict[int, Fault] = {}
    for at, _order, action, i in events:
        time.sleep(max(0.0, start + at - time.monotonic()))
        step = run.scenario.timeline[i]
        if action == "apply":
            fault = make_fault(step.fault, _resolve(step.target, run.sampler), step.params)
            faults[i] = fault
            try:
                record = run.journal.apply(fault)
                progress(f"  +{at:5.1f}s apply {fault.id} {fault.target}: {record.applied}")
            except Exception as exc:  # noqa: BLE001 - recorded in the journal, the run goes on
                progress(f"  +{at:5.1f}s apply {fault.id} {fault.target} FAILED: {exc}")
        elif i in faults and faults[i] in run.journal.active():
            try:
                record = run.journal.heal(faults[i])
                progress(f"  +{at:5.1f}s heal  {faults[i].id} {faults[i].target}: {record.healed}")
            except Exception as exc:  # noqa: BLE001 - recorded in the journal, the run goes on
                progress(f"  +{at:5.1f}s heal  {faults[i].id} {faults[i].target} FAILED: {exc}")
    time.sleep(max(0.0, start + run.scenario.duration_s - time.monotonic()))
    for fault in reversed(run.journal.active()):
        if not fault.heal_after_checks:
            try:
                record = run.journal.heal(fault)
                progress(f"  end    heal  {fault.id} {fault.target}: {record.healed}")
            except Exception as exc:  # noqa: BLE001 - recorded in the journal, the run goes on
                progress(f"  end    heal  {fault.id} {fault.target} FAILED: {exc}")


def _recover(run: ScenarioRun, lab: RigLab, progress: Callable[[str], None]) -> None:
    run.healed_at = time.time()
    deadline = time.monotonic() + run.scenario.expect.recovery_s
    while time.monotonic() < deadline:
        s = run.sampler.samples[-1] if run.sampler.samples else None
        if s is not None and s.t > run.healed_at and None not in s.heights.values() \
                and len(set(s.heights.values())) == 1:
            run.converged_after_s = s.t - run.healed_at
            progress(f"  all nodes at height {next(iter(s.heights.values()))} "
                     f"{run.converged_after_s:.1f} s after the last heal")
            return
        time.sleep(0.5)
    progress(f"  nodes did not converge within {run.scenario.expect.recovery_s} s")


@dataclass
class Collected:
    ledgers: dict[str, Path] = field(default_factory=dict)
    truths: dict[str, Path] = field(default_factory=dict)
    outboxes: dict[str, Path] = field(default_factory=dict)
    conflicts: dict[str, dict[str, int]] = field(default_factory=dict)   # member -> gateway -> count
    unanswered: dict[str, str] = field(default_factory=dict)              # member -> why no /metrics
    problems: list[str] = field(default_factory=list)


def _collect(lab: RigLab, report_dir: Path, started_at: float) -> Collected:
    got = Collected()
    for sub in ("ledgers", "truth", "outboxes"):
        (report_dir / sub).mkdir(parents=True, exist_ok=True)
    for member, ref in lab.ctx.nodes.items():
        try:
            facts = ref.host.service(ref.service)
            python = facts.argv[0] if facts.argv else "python3"
            data = ref.host.snapshot_sqlite(python, ref.data_dir / "ledger.sqlite")
            (report_dir / "ledgers" / f"{member}.sqlite").write_bytes(data)
            got.ledgers[member] = report_dir / "ledgers" / f"{member}.sqlite"
        except RigError as exc:
            got.problems.append(f"ledger of {member}: {exc}")
        try:
            got.conflicts[member] = read_conflicts(ref.url)
        except RigError as exc:   # a node the scenario left down: its count is not judged
            got.unanswered[member] = str(exc)
    python = next((p for p in (f.argv[0] for f in (r.host.service(r.service) for r in lab.ctx.nodes.values())
                               if f.argv) if p), "python3")
    for gw, (host, path) in lab.outboxes.items():
        try:
            (report_dir / "outboxes" / f"{gw}.db").write_bytes(lab.hosts[host].snapshot_sqlite(python, path))
            got.outboxes[gw] = report_dir / "outboxes" / f"{gw}.db"
        except RigError as exc:
            got.problems.append(f"outbox of {gw}: {exc}")
    since = int(started_at) - 600   # a truth log holds the lab's whole life: fetch the scenario's part
    for meter, (host, path) in lab.truth_logs.items():
        try:
            (report_dir / "truth" / f"{meter}.jsonl").write_bytes(
                lab.hosts[host].fetch(path, since_field=("t", since)))
            got.truths[meter] = report_dir / "truth" / f"{meter}.jsonl"
        except RigError as exc:
            got.problems.append(f"truth log of {meter}: {exc}")
    return got


def _check(run: ScenarioRun, lab: RigLab, files: Collected) -> list[InvariantResult]:
    sc, records = run.scenario, run.journal.records
    results = []
    failed = [f"{r.fault} {r.target}: {r.error}" for r in records if r.error]
    if failed:
        results.append(InvariantResult("faults", False, "faults the rig could not apply or heal as asked",
                                       failed))
    if files.problems:
        results.append(InvariantResult("collection", False, "files the rig could not collect",
                                       files.problems))
    liars = {m for r in records for m in r.outcome.lying_members}
    tampered = {r.target: r.outcome.tampered_height for r in run.journal.active_records()
                if r.outcome.tampered_height is not None}
    honest = {m: p for m, p in files.ledgers.items() if m not in liars and m not in tampered}
    results.append(agreement(honest))
    signatures = VerifiedSignatures(capacity=1 << 20)   # one memory for the copies of one chain
    results.append(validity(honest, lab.genesis, signatures))
    results.append(detection(tampered, files.ledgers, lab.genesis, signatures))
    results.append(conflicts(files.conflicts, files.unanswered))
    best = max(honest, key=lambda m: run.sampler.samples[-1].heights.get(m) or -1, default=None) \
        if run.sampler.samples else None
    interval = lab.interval_s
    since = int(run.started_at) // interval * interval + 2 * interval
    until = int(run.healed_at + (run.converged_after_s or 0.0))
    truths = {m: load_truth(p, m) for m, p in files.truths.items()}
    if best is not None and truths:
        results.append(completeness(truths, honest[best], files.outboxes.values(), interval_s=interval,
                                    since=since, until=until))
        results.append(accuracy(truths, honest[best], lab.genesis,
                                tolerance_pct=sc.expect.accuracy_tolerance_pct, since=since, until=until))
    else:
        results.append(InvariantResult("completeness", True, "not applicable: no emulated meter truth logs"))
    if best is not None and sc.expect.flagged:
        results.append(flagged(list(sc.expect.flagged), honest[best], since))
    final = run.sampler.samples[-1].heights if run.sampler.samples else {}
    t0 = run.started_at   # the liveness evidence speaks in seconds since the scenario started
    samples = [(s.t - t0, s.heights) for s in run.sampler.samples]
    live = liveness(samples, windows(fault_spans(records, run.healed_at, t0)), lab.genesis.f,
                    converged_after_s=run.converged_after_s,
                    recovery_s=sc.expect.recovery_s, final=final, expect_progress=sc.expect.progress,
                    grace_s=sc.expect.detect_s)
    results.append(live)
    if sc.expect.rejections or any(r.outcome.traffic is not None for r in records):
        results.append(rejections(records, sc.expect.rejections))
    return results


def rejections(records: list[FaultRecord], expected: Mapping[str, str]) -> InvariantResult:
    """Hostile traffic (`expected`: fault id -> the reason its batch must be refused with),
    judged on each traffic fault's typed answer, never on the text of its line."""
    evidence, ok = [], True
    for r in records:
        if r.outcome.traffic is None:
            continue
        want = expected.get(r.fault)
        text = r.applied or r.error
        if want is not None and want not in r.outcome.traffic.reasons:
            ok = False
            evidence.append(f"{r.fault} -> {r.target}: expected rejection {want}; got {text}")
        else:
            evidence.append(f"{r.fault} -> {r.target}: {text}")
    return InvariantResult("rejections", ok, "hostile traffic refused with its reason" if ok
                           else "hostile traffic not refused as expected", evidence)
