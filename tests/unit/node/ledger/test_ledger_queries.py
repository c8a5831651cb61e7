"""Queries behind the HTTP API on a real ledger: filters, paging, aggregates, status, indexes."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from carbonlab.node.decision import Decision, DecisionStatus
from carbonlab.node.ledger import Ledger, LedgerError
from carbonlab.node.ledger.rejection import Rejection
from tests.unit.node.factories import T0, Kit, make_kit, make_reading


@pytest.fixture
def filled(tmp_path: Path) -> Iterator[tuple[Kit, Ledger]]:
    """gw1 -> m1 (acme, plant1), m2 (globex, plant1); gw2 -> m3 (acme, plant2); 5 intervals each."""
    kit = make_kit()
    ledger = Ledger.open(tmp_path / "l.db", kit.genesis)
    try:
        for h in range(1, 6):
            requests = [kit.next_batch("gw1").encode(), kit.next_batch("gw2").encode()]
            if h == 3:  # gw1 retries batch 4 with a wrong mass first, then correctly (next block)
                good = kit.next_batch("gw1")
                bad_reading = replace(good.readings[0], co2_kg=1.0)
                bad = kit.batch("gw1", good.batch_seq, (bad_reading, *good.readings[1:]))
                requests.append(bad.encode())
            if h == 4:
                requests.insert(0, good.encode())
            ledger.commit(*kit.certified(h, requests))
        yield kit, ledger
    finally:
        ledger.close()


def test_readings_filters_join_genesis_meter_info(filled: tuple[Kit, Ledger]) -> None:
    _, ledger = filled
    everything = ledger.readings(limit=1000)
    assert len(everything) == 17
    assert [r["interval_start"] for r in everything] == sorted(r["interval_start"] for r in everything)
    m1 = ledger.readings(meter="m1")
    assert [r["seq"] for r in m1] == [1, 2, 3, 4, 5, 6]
    assert {(r["company"], r["plant"], r["unit"], r["stack"]) for r in m1} == \
        {("acme", "plant1", "unit1", "stack1")}
    assert {r["meter_id"] for r in ledger.readings(plant="plant1")} == {"m1", "m2"}
    assert {r["meter_id"] for r in ledger.readings(company="acme")} == {"m1", "m3"}
    assert {r["meter_id"] for r in ledger.readings(unit="unit3")} == {"m3"}
    window = ledger.readings(since=T0 + 60, until=T0 + 180)
    assert {r["interval_start"] for r in window} == {T0 + 60, T0 + 120}
    first = m1[0]
    assert first["height"] == 1
    assert first["substituted"] is False
    assert first["anomalies"] == []
    assert first["co2_kg"] == make_reading("m1", 1, T0, co2_pct=first["co2_pct"],
                                           flow_m3_s=first["flow_m3_s"]).co2_kg


def test_readings_paging_is_stable(filled: tuple[Kit, Ledger]) -> None:
    _, ledger = filled
    everything = ledger.readings(limit=1000)
    pages = [ledger.readings(limit=4, offset=o) for o in range(0, 20, 4)]
    assert [r for page in pages for r in page] == everything


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"), ({"offset": -1}, "offset"),
    ({"since": "yesterday"}, "since"),
])
def test_bad_query_arguments_are_named(filled: tuple[Kit, Ledger], kwargs: dict[str, object],
                                       field: str) -> None:
    _, ledger = filled
    with pytest.raises(LedgerError, match=f"^{field}: "):
        ledger.readings(**kwargs)  # type: ignore[arg-type]


def test_emissions_sum_by_every_grouping(filled: tuple[Kit, Ledger]) -> None:
    _, ledger = filled
    everything = ledger.readings(limit=1000)
    total = sum(r["co2_kg"] for r in everything)
    for group_by in ("company", "plant", "unit", "stack", "meter"):
        rows = ledger.emissions(group_by=group_by)  # type: ignore[arg-type]
        assert sum(r["co2_kg"] for r in rows) == pytest.approx(total)
        assert sum(r["readings"] for r in rows) == len(everything)
    by_company = {r["company"]: r for r in ledger.emissions(group_by="company")}
    assert by_company["acme"]["co2_kg"] == pytest.approx(
        sum(r["co2_kg"] for r in everything if r["company"] == "acme"))
    assert by_company["acme"]["since"] == T0
    by_meter = ledger.emissions(group_by="meter", since=T0 + 120)
    assert {(r["meter"], r["readings"]) for r in by_meter} == {("m1", 4), ("m2", 4), ("m3", 3)}
    with pytest.raises(LedgerError, match="group_by"):
        ledger.emissions(group_by="country")  # type: ignore[arg-type]


def test_a_tampered_meters_table_does_not_move_emissions(filled: tuple[Kit, Ledger],
                                                         tmp_path: Path) -> None:
    """Queries take company, plant, unit and stack from genesis, not from the file's copy."""
    kit, ledger = filled
    before = {g: ledger.emissions(group_by=g)  # type: ignore[arg-type]
              for g in ("company", "plant", "unit", "stack")}
    acme = ledger.readings(company="acme", limit=1000)
    db = sqlite3.connect(tmp_path / "l.db")
    db.execute("UPDATE meters SET company = 'globex', plant = 'plant9', unit = 'u9', stack = 's9' "
               "WHERE meter_id = 'm1'")
    db.commit()
    db.close()
    with Ledger.open_readonly(tmp_path / "l.db", kit.genesis) as reopened:
        for queried in (ledger, reopened):
            for group_by, rows in before.items():
                assert queried.emissions(group_by=group_by) == rows  # type: ignore[arg-type]
            assert queried.readings(company="acme", limit=1000) == acme
            assert queried.readings(plant="plant9") == []


def test_rejections_and_batch_status(filled: tuple[Kit, Ledger]) -> None:
    kit, ledger = filled
    rejected = ledger.rejections()
    assert len(rejected) == 1
    first = rejected[0]
    block3 = ledger.block(3)
    assert block3 is not None
    assert first == Rejection(height=3, index=2, gateway_id="gw1", batch_seq=4, reason="co2_mismatch",
                              detail=first.detail, timestamp_ms=block3.header.timestamp_ms,
                              field="batch.readings[0].co2_kg")
    assert "batch.readings[0].co2_kg: 1.0" in first.detail
    assert first.to_json() == {"height": 3, "index": 2, "gateway_id": "gw1", "batch_seq": 4,
                               "reason": "co2_mismatch", "detail": first.detail,
                               "timestamp_ms": block3.header.timestamp_ms,
                               "field": "batch.readings[0].co2_kg"}
    assert ledger.rejections(gateway="gw2") == []
    committed = ledger.batch_status("gw1", 4)
    block = ledger.block(4)
    assert committed is not None
    assert block is not None
    assert committed == Decision(DecisionStatus.COMMITTED, 4, digest=committed.digest)
    assert committed.to_json() == {"status": "committed", "height": 4, "digest": committed.digest}
    assert committed.digest in {hashlib.sha256(r).hexdigest() for r in block.proposal.requests}
    assert _status(ledger, "gw2", 1).status is DecisionStatus.COMMITTED
    assert ledger.batch_status("gw2", 99) is None
    assert _status(ledger, "gw1", 4, request=b"other bytes").status is DecisionStatus.COMMITTED
    replayed = kit.batch("gw2", 2, kit.next_readings("m3")).encode()
    late = ledger.commit(*kit.certified(6, [b"\x00junk", replayed]))
    assert late.verdicts[1].reason is not None
    # the replay does not shadow the accepted copy
    assert _status(ledger, "gw2", 2).status is DecisionStatus.COMMITTED
    assert [r.reason for r in ledger.rejections(limit=2)] == ["replay_batch", "malformed"]
    forged = kit.batch("gw2", 9, kit.next_readings("m3"), signer=kit.gateways["gw1"]).encode()
    ledger.commit(*kit.certified(7, [forged]))
    bad = _status(ledger, "gw2", 9)
    assert (bad.status, bad.reason, bad.height) == (DecisionStatus.REJECTED, "bad_signature", 7)
    assert bad.to_json()["error"] == bad.detail
    assert ledger.batch_status("gw2", 9, request=b"the real batch") is None


def _status(ledger: Ledger, gateway_id: str, batch_seq: int, request: bytes | None = None) -> Decision:
    found = ledger.batch_status(gateway_id, batch_seq, request)
    assert found is not None
    return found


def test_queries_use_indexes(filled: tuple[Kit, Ledger], tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "l.db")
    try:
        def plan(sql: str) -> str:
            return " ".join(str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + sql))

        assert "readings_by_meter_time" in plan(
            "SELECT * FROM readings WHERE meter_id = 'm1' AND interval_start >= 0 ORDER BY interval_start")
        assert "readings_by_time" in plan("SELECT * FROM readings WHERE interval_start >= 5")
        assert "batches_by_key" in plan("SELECT * FROM batches WHERE gateway_id = 'g' AND batch_seq = 1")
        assert "batches_rejected" in plan("SELECT * FROM batches WHERE accepted = 0 ORDER BY height DESC")
    finally:
        db.close()


def test_reading_positions_match_the_readings(filled: tuple[Kit, Ledger]) -> None:
    """Where a report's readings are (height -> batch -> indices), through the ledger's read layer."""
    _, ledger = filled
    rows = ledger.readings(meter="m1", limit=1000)
    want: dict[int, dict[int, list[int]]] = {}
    for r in sorted(rows, key=lambda r: (r["height"], r["batch_idx"], r["idx"])):
        want.setdefault(r["height"], {}).setdefault(r["batch_idx"], []).append(r["idx"])
    assert want
    assert ledger.reading_positions(["m1"], 0, 2**62, ledger.height) == want
    top = min(want)
    assert ledger.reading_positions(["m1"], 0, 2**62, top) == {top: want[top]}
