"""Invariants against what the meters really emitted (their truth logs): completeness and accuracy.

Theory of operation. A truth log has one JSON line per second a meter lived through,
with what was true, what it served, its active faults and how many reads it answered.
An interval (aligned to `interval_s`, as the gateway aligns them) was *served* when the
meter answered at least one read in it. Completeness: each served interval of the window
is on the ledger exactly once (a substituted reading counts: the gateway recorded it as
missing and said so), or, failing that, still waiting in a gateway's outbox (reported
as pending); anything else is missing, and the evidence lists the missing intervals as
ranges. Accuracy: over the intervals committed with a normal flag whose seconds carried
no meter fault, the committed CO2 mass per meter and hour is compared with the mass
computed the gateway's way (interval averages of the true values, 40 CFR 75 F-2/F-11).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from carbonlab.node import emissions
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Batch
from carbonlab.rig.invariants.result import InvariantResult, capped, read_only

CHANNELS = ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa")


@dataclass
class MeterTruth:
    meter: str
    seconds: dict[int, dict[str, object]] = field(default_factory=dict)

    def served_intervals(self, interval_s: int, since: int, until: int) -> set[int]:
        """Starts of the intervals inside [since, until) in which the meter answered a read."""
        out = set()
        for t, line in self.seconds.items():
            start = t - t % interval_s
            if since <= start and start + interval_s <= until and int(str(line.get("reads", 0))) > 0:
                out.add(start)
        return out

    def interval_lines(self, start: int, interval_s: int) -> list[dict[str, object]]:
        return [self.seconds[t] for t in range(start, start + interval_s) if t in self.seconds]


def load_truth(path: Path, meter: str) -> MeterTruth:
    truth = MeterTruth(meter)
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                truth.seconds[int(line["t"])] = line
            except (ValueError, KeyError, TypeError):
                if raw.endswith("\n"):   # a torn last line of a killed meter is not an error
                    raise ValueError(f"{path}:{n}: not a truth-log line: {raw[:80]!r}") from None
    return truth


def ledger_readings(path: Path) -> dict[tuple[str, int], list[dict[str, object]]]:
    db = read_only(path)
    try:
        rows = db.execute("SELECT meter_id, interval_start, interval_s, seq, height, flag, substituted, "
                          "co2_kg FROM readings").fetchall()
    finally:
        db.close()
    out: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for meter, start, interval_s, seq, height, flag, substituted, co2_kg in rows:
        out[(meter, int(start))].append({"interval_s": interval_s, "seq": seq, "height": height, "flag": flag,
                                         "substituted": bool(substituted), "co2_kg": co2_kg})
    return out


def outbox_pending(paths: Iterable[Path]) -> dict[tuple[str, int], str]:
    """(meter, interval_start) -> the gateway batch still waiting to be committed."""
    out: dict[tuple[str, int], str] = {}
    for path in paths:
        db = read_only(path)
        try:
            for batch_seq, body in db.execute("SELECT batch_seq, body FROM outbox"):
                batch = Batch.decode(bytes(body))
                for r in batch.readings:
                    out[(r.meter_id, r.interval_start)] = f"{batch.gateway_id}/{batch_seq}"
        finally:
            db.close()
    return out


def _ranges(starts: list[int], interval_s: int) -> str:
    if not starts:
        return ""
    parts, lo, prev = [], starts[0], starts[0]
    for s in starts[1:]:
        if s == prev + interval_s:
            prev = s
            continue
        parts.append(f"{lo}" if lo == prev else f"{lo}..{prev}")
        lo = prev = s
    parts.append(f"{lo}" if lo == prev else f"{lo}..{prev}")
    return ", ".join(parts)


def completeness(truths: Mapping[str, MeterTruth], ledger: Path, outboxes: Iterable[Path], *,
                 interval_s: int, since: int, until: int, allow_pending: bool = True) -> InvariantResult:
    committed = ledger_readings(ledger)
    pending = outbox_pending(outboxes)
    evidence: list[str] = []
    served_total = on_ledger = substituted = waiting = 0
    missing_total = duplicates = 0
    for meter, truth in sorted(truths.items()):
        missing = []
        for start in sorted(truth.served_intervals(interval_s, since, until)):
            served_total += 1
            rows = committed.get((meter, start), [])
            if len(rows) > 1:
                duplicates += 1
                evidence.append(f"{meter} interval {start}: on the ledger {len(rows)} times "
                                f"(seqs {[r['seq'] for r in rows]}, heights {[r['height'] for r in rows]})")
            elif rows:
                on_ledger += 1
                substituted += bool(rows[0]["substituted"])
            elif (meter, start) in pending:
                waiting += 1
                if not allow_pending:
                    missing.append(start)
            else:
                missing.append(start)
        if missing:
            missing_total += len(missing)
            evidence.append(f"{meter}: {len(missing)} interval(s) missing: {_ranges(missing, interval_s)}")
    data = {"served": served_total, "on_ledger": on_ledger, "substituted": substituted, "pending": waiting,
            "missing": missing_total, "duplicates": duplicates}
    figures = (f"{served_total} served intervals: {on_ledger} on the ledger ({substituted} substituted), "
               f"{waiting} pending in outboxes, {missing_total} missing, {duplicates} duplicated")
    passed = missing_total == 0 and duplicates == 0
    return InvariantResult("completeness", passed, figures, capped(evidence), data)


def truth_mass_kg(lines: list[dict[str, object]], basis: str, interval_s: int) -> float | None:
    if not lines:
        return None
    trues: list[dict[str, float]] = [line["true"] for line in lines]  # type: ignore[misc]
    avg = {c: sum(float(t[c]) for t in trues) / len(lines) for c in CHANNELS}
    return emissions.co2_mass_kg(avg["co2_pct"], basis, avg["h2o_pct"], avg["flow_m3_s"], avg["temp_c"],
                                 avg["pressure_kpa"], interval_s)


def accuracy(truths: Mapping[str, MeterTruth], ledger: Path, genesis: Genesis, *, tolerance_pct: float = 2.0,
             since: int = 0, until: int = 2**62) -> InvariantResult:
    committed = ledger_readings(ledger)
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for (meter, start), rows in committed.items():
        truth = truths.get(meter)
        row = rows[0]
        if truth is None or not since <= start < until or row["flag"] != "N" or row["substituted"]:
            continue
        interval_s = int(str(row["interval_s"]))
        lines = truth.interval_lines(start, interval_s)
        if len(lines) < interval_s // 2 or any(line.get("faults") for line in lines):
            continue
        expected = truth_mass_kg(lines, genesis.meter_by_id[meter].co2_basis, interval_s)
        if expected is None:
            continue
        acc = sums[(meter, start // 3600)]
        acc[0] += float(str(row["co2_kg"]))
        acc[1] += expected
        acc[2] += 1
    evidence, worst = [], 0.0
    for (meter, hour), (got, want, n) in sorted(sums.items()):
        off = abs(got - want) / want * 100 if want else 0.0
        worst = max(worst, off)
        if off > tolerance_pct:
            evidence.append(f"{meter} hour {hour * 3600}: committed {got:.3f} kg, truth {want:.3f} kg "
                            f"({off:.2f}% off over {int(n)} intervals)")
    checked = sum(int(v[2]) for v in sums.values())
    summary = (f"{checked} fault-free intervals in {len(sums)} meter-hours; worst {worst:.3f}% "
               f"(tolerance {tolerance_pct}%)")
    return InvariantResult("accuracy", not evidence, summary, capped(evidence),
                           {"intervals": checked, "worst_pct": worst})
