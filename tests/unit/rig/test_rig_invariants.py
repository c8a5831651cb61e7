"""Invariants over real ledgers (the real Ledger and verifier), truth logs and a gateway outbox
made with the gateway's own schema: each passes on a sound run and fails with evidence."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from carbonlab.gateway.store import SCHEMA as GATEWAY_SCHEMA
from carbonlab.node.ledger.store import Ledger
from carbonlab.node.model import Batch
from carbonlab.rig.invariants import (
    Window,
    accuracy,
    agreement,
    completeness,
    detection,
    liveness,
    load_truth,
    validity,
)
from tests.unit.node.factories import T0, Kit, make_kit


def build(path: Path, kit: Kit, batches: list[Batch]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(path, kit.genesis)
    for h, b in enumerate(batches, 1):
        ledger.commit(*kit.certified(h, [b.encode()]))
    ledger.close()
    return path


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Kit, list[Batch], dict[str, Path]]:
    kit = make_kit(n=4)
    batches = [kit.next_batch("gw1") for _ in range(3)]
    ledgers = {m: build(tmp_path / m / "ledger.sqlite", kit, batches) for m in ("n1", "n2", "n3")}
    return kit, batches, ledgers


def alter(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def test_agreement_passes_and_names_a_fork(chain: tuple[Kit, list[Batch], dict[str, Path]],
                                           tmp_path: Path) -> None:
    kit, batches, ledgers = chain
    ok = agreement(ledgers)
    assert ok.passed
    assert "n1=3" in ok.summary
    forked = build(tmp_path / "n4" / "ledger.sqlite", kit, [batches[0], kit.next_batch("gw2")])
    bad = agreement({**ledgers, "n4": forked})
    assert not bad.passed
    assert bad.evidence[0].startswith("height 2: ")
    assert "on n4" in bad.evidence[0]
    assert "n1, n2, n3" in bad.evidence[0]


def test_validity_and_detection(chain: tuple[Kit, list[Batch], dict[str, Path]]) -> None:
    kit, _, ledgers = chain
    assert validity(ledgers, kit.genesis).passed
    assert detection({}, ledgers, kit.genesis).passed
    alter(ledgers["n2"], "UPDATE readings SET co2_kg = co2_kg + 5 WHERE height = 2")
    bad = validity(ledgers, kit.genesis)
    assert not bad.passed
    assert any(e.startswith("n2: height 2:") for e in bad.evidence)
    found = detection({"n2": 2}, ledgers, kit.genesis)
    assert found.passed
    assert "n2: detected: height 2:" in found.evidence[0]
    missed = detection({"n3": 3}, ledgers, kit.genesis)
    assert not missed.passed
    assert "NOT detected" in missed.evidence[0]


def write_truth(path: Path, meter: str, starts: list[int], *, co2_pct: float = 11.0, flow: float = 120.0,
                faults: list[str] | None = None) -> None:
    with path.open("a") as fh:
        for start in starts:
            for t in range(start, start + 60):
                true = {"co2_pct": co2_pct, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": flow, "temp_c": 140.0,
                        "pressure_kpa": 100.5}
                fh.write(json.dumps({"t": t, "true": true, "served": true, "status": "ok",
                                     "faults": faults or [], "reads": 1}) + "\n")


def outbox(path: Path, batches: list[Batch]) -> Path:
    db = sqlite3.connect(path)
    db.executescript(GATEWAY_SCHEMA)
    for b in batches:
        db.execute("INSERT INTO outbox (batch_seq, created_at, n_readings, body) VALUES (?, ?, ?, ?)",
                   (b.batch_seq, 0.0, len(b.readings), b.encode()))
    db.commit()
    db.close()
    return path


def test_completeness(chain: tuple[Kit, list[Batch], dict[str, Path]], tmp_path: Path) -> None:
    kit, _, ledgers = chain
    starts = [T0 + 60 * k for k in range(5)]           # 3 committed, 1 pending, 1 lost
    truths = {}
    for meter in ("m1", "m2"):
        write_truth(tmp_path / f"{meter}.jsonl", meter, starts)
        truths[meter] = load_truth(tmp_path / f"{meter}.jsonl", meter)
    box = outbox(tmp_path / "gateway.db", [kit.next_batch("gw1")])
    result = completeness(truths, ledgers["n1"], [box], interval_s=60, since=T0, until=T0 + 300)
    assert not result.passed
    assert result.data == {"served": 10, "on_ledger": 6, "substituted": 0, "pending": 2, "missing": 2,
                           "duplicates": 0}
    assert f"m1: 1 interval(s) missing: {T0 + 240}" in result.evidence
    ok = completeness(truths, ledgers["n1"], [box], interval_s=60, since=T0, until=T0 + 240)
    assert ok.passed
    strict = completeness(truths, ledgers["n1"], [box], interval_s=60, since=T0, until=T0 + 240,
                          allow_pending=False)
    assert f"m1: 1 interval(s) missing: {T0 + 180}" in strict.evidence


def test_completeness_counts_duplicates(tmp_path: Path) -> None:
    kit = make_kit(n=4)
    first = kit.next_batch("gw1")
    ledger = build(tmp_path / "n1.sqlite", kit, [first])
    # the same interval a second time under another seq (a gateway that re-sent after losing its state)
    db = sqlite3.connect(ledger)
    cols = [r[1] for r in db.execute("PRAGMA table_info(readings)")]
    picked = ", ".join("seq + 100" if c == "seq" else "idx + 10" if c == "idx" else c for c in cols)
    db.execute(f"INSERT INTO readings ({', '.join(cols)}) SELECT {picked} FROM readings "
               "WHERE meter_id = 'm1'")
    db.commit()
    db.close()
    write_truth(tmp_path / "m1.jsonl", "m1", [T0])
    truths = {"m1": load_truth(tmp_path / "m1.jsonl", "m1")}
    result = completeness(truths, ledger, [], interval_s=60, since=T0, until=T0 + 60)
    assert not result.passed
    assert "on the ledger 2 times" in result.evidence[0]


def test_accuracy(chain: tuple[Kit, list[Batch], dict[str, Path]], tmp_path: Path) -> None:
    kit, batches, ledgers = chain
    for b in batches:                                   # truth = what the readings say, second by second
        for r in b.readings:
            write_truth(tmp_path / f"{r.meter_id}.jsonl", r.meter_id, [r.interval_start], co2_pct=r.co2_pct,
                        flow=r.flow_m3_s)
    truths = {m: load_truth(tmp_path / f"{m}.jsonl", m) for m in ("m1", "m2")}
    ok = accuracy(truths, ledgers["n1"], kit.genesis, tolerance_pct=0.5)
    assert ok.passed
    assert ok.data["intervals"] == 6
    alter(ledgers["n1"], "UPDATE readings SET co2_kg = co2_kg * 1.5 WHERE meter_id = 'm2'")
    bad = accuracy(truths, ledgers["n1"], kit.genesis, tolerance_pct=0.5)
    assert not bad.passed
    assert bad.evidence[0].startswith("m2 hour")
    assert "% off over 3 intervals" in bad.evidence[0]


def test_accuracy_skips_faulted_intervals(chain: tuple[Kit, list[Batch], dict[str, Path]],
                                          tmp_path: Path) -> None:
    kit, batches, ledgers = chain
    for b in batches:
        for r in b.readings:
            write_truth(tmp_path / f"{r.meter_id}.jsonl", r.meter_id, [r.interval_start],
                        co2_pct=r.co2_pct * 2, flow=r.flow_m3_s, faults=["drift_pct_per_h"])
    truths = {m: load_truth(tmp_path / f"{m}.jsonl", m) for m in ("m1", "m2")}
    result = accuracy(truths, ledgers["n1"], kit.genesis)
    assert result.passed
    assert result.data["intervals"] == 0


def test_liveness() -> None:
    samples = [(float(t), {"n1": t // 2, "n2": t // 2}) for t in range(20)]
    ok = liveness(samples, [Window(2, 10, 1)], 1, converged_after_s=3.0, recovery_s=30,
                  final={"n1": 9, "n2": 9}, grace_s=0.0)
    assert ok.passed
    stalled = [(float(t), {"n1": 4, "n2": 4}) for t in range(20)]
    bad = liveness(stalled, [Window(2, 10, 1)], 1, converged_after_s=None, recovery_s=30,
                   final={"n1": 4, "n2": 3}, grace_s=0.0)
    assert not bad.passed
    assert "height stayed at 4" in bad.evidence[0]
    assert "n2=3" in bad.evidence[-1]
    no_progress = liveness(stalled, [Window(2, 10, 3)], 1, converged_after_s=1.0, recovery_s=30,
                           final={"n1": 4}, expect_progress=False)
    assert no_progress.passed
    short = liveness(stalled, [Window(2, 10, 1)], 1, converged_after_s=1.0, recovery_s=30, final={"n1": 4})
    assert short.passed
    assert "not judged" in short.evidence[0]
    sneaky = liveness(samples, [Window(2, 19, 3)], 1, converged_after_s=1.0, recovery_s=30,
                      final={"n1": 9}, expect_progress=False)
    assert not sneaky.passed
    assert "with more than f faulty" in sneaky.evidence[0]
    told = liveness(samples, [Window(2, 19, 3)], 1, converged_after_s=1.0, recovery_s=30, final={"n1": 9})
    assert told.passed
    assert "(beyond f: reported, not judged)" in told.evidence[0]


def test_liveness_judges_a_window_the_sampler_fell_behind_in() -> None:
    # samples 3 s apart (a loaded host): none falls in the first 2 s after the grace period
    sparse = [(float(t), {"n1": t // 5}) for t in range(0, 60, 3)]
    live = liveness(sparse, [Window(10, 55, 1)], 1, converged_after_s=1.0, recovery_s=30, final={"n1": 11},
                    grace_s=20.5)
    assert live.passed
    assert live.evidence[0] == "10.0..55.0 s (1 faulty): height 6 -> 10"
    stalled = [(float(t), {"n1": 4 if t < 45 else 5}) for t in range(0, 60, 3)]
    bad = liveness(stalled, [Window(10, 40, 1)], 1, converged_after_s=1.0, recovery_s=30, final={"n1": 5},
                   grace_s=20.5)
    assert not bad.passed
    assert "height stayed at 4 from 30.5 s" in bad.evidence[0]


def test_torn_last_truth_line_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "m1.jsonl"
    write_truth(path, "m1", [T0])
    with path.open("a") as fh:
        fh.write('{"t": 17000')
    assert len(load_truth(path, "m1").seconds) == 60
    path.write_text("garbage\n")
    with pytest.raises(ValueError, match="not a truth-log line"):
        load_truth(path, "m1")
