"""What the runner's checks read of each fault: the fault type's own attributes and the typed
outcome the journal records, never the fault's id or the text of its lines."""

from __future__ import annotations

import pytest

from carbonlab.rig.faults import FAULTS, FaultOutcome, FaultRecord, TrafficOutcome, make_fault
from carbonlab.rig.invariants import Window, fault_spans, windows
from carbonlab.rig.runner import rejections


def test_each_fault_type_names_the_members_it_makes_faulty() -> None:
    assert make_fault("node.kill", "n1").faulty_members() == ("n1",)
    assert make_fault("node.pause", "n2").faulty_members() == ("n2",)
    assert make_fault("node.isolate", "n3").faulty_members() == ("n3",)
    assert make_fault("node.byzantine", "n4", {"mode": "silent"}).faulty_members() == ("n4",)
    partition = make_fault("node.partition", "lab", {"groups": [["n1", "n2", "n3", "n4"], ["n5", "n6"]]})
    assert partition.faulty_members() == ("n5", "n6")          # the side cut off from the quorum
    # a restart is over once applied; gateway, meter and link faults make no member faulty
    for fault_id in ("node.restart", "gateway.kill", "gateway.pause", "traffic.stranger", "meter.offline"):
        assert make_fault(fault_id, "x").faulty_members() == (), fault_id


def test_only_ledger_tampering_is_healed_after_the_checks() -> None:
    assert [fid for fid, cls in FAULTS.items() if cls.heal_after_checks] == ["node.tamper_ledger"]


def test_a_byzantine_member_is_recorded_as_lying() -> None:
    outcome = make_fault("node.byzantine", "n4", {"mode": "equivocate"}).outcome()
    assert outcome == FaultOutcome(faulty_members=("n4",), lying_members=("n4",))


def test_traffic_that_got_no_answer_is_still_recorded_as_traffic() -> None:
    traffic = make_fault("traffic.stranger", "n1").outcome().traffic
    assert traffic is not None
    assert traffic.status == "no answer"
    assert traffic.reasons == ()


def _record(fault: str, target: str, at: float | None, healed: float | None, outcome: FaultOutcome,
            applied: str = "") -> FaultRecord:
    return FaultRecord(fault, target, {}, applied_at=at, healed_at=healed, applied=applied, outcome=outcome)


def test_spans_come_from_the_recorded_members_and_count_each_once() -> None:
    records = [
        _record("node.kill", "n1", 100.0, 130.0, FaultOutcome(faulty_members=("n1",))),
        _record("node.partition", "lab", 110.0, None, FaultOutcome(faulty_members=("n1", "n2"))),
        _record("gateway.kill", "gw1", 100.0, 105.0, FaultOutcome()),
        _record("node.pause", "n3", None, None, FaultOutcome(faulty_members=("n3",))),   # never applied
    ]
    got = fault_spans(records, healed_at=150.0, t0=100.0)
    assert [(s.start, s.end, s.members) for s in got] == [(0.0, 30.0, ("n1",)), (10.0, 50.0, ("n1", "n2"))]
    assert windows(got) == [Window(0.0, 10.0, 1, ("n1",)), Window(10.0, 30.0, 2, ("n1", "n2")),
                            Window(30.0, 50.0, 2, ("n1", "n2"))]


@pytest.mark.parametrize(("reasons", "passed"), [(("unknown_gateway",), True), (("bad_signature",), False),
                                                 ((), False)])
def test_rejections_judge_the_typed_answer(reasons: tuple[str, ...], passed: bool) -> None:
    # the line mentions the expected reason even where the answer does not: it is not what is judged
    line = "stranger batch to n1: answer {'reason': 'unknown_gateway'}"
    records = [_record("traffic.stranger", "n1", 1.0, 2.0,
                       FaultOutcome(traffic=TrafficOutcome(400, "rejected", reasons)), applied=line),
               _record("node.kill", "n2", 1.0, 2.0, FaultOutcome(faulty_members=("n2",)))]
    result = rejections(records, {"traffic.stranger": "unknown_gateway"})
    assert result.passed is passed
    assert len(result.evidence) == 1
    assert result.evidence[0].startswith("traffic.stranger -> n1: ")


def test_expected_rejection_without_traffic_is_not_met() -> None:
    records = [_record("traffic.stranger", "n1", 1.0, None,
                       FaultOutcome(traffic=TrafficOutcome(0, "no answer")), applied="")]
    records[0].error = "apply: http://127.0.0.1:1: connection refused"
    result = rejections(records, {"traffic.stranger": "unknown_gateway"})
    assert not result.passed
    assert "expected rejection unknown_gateway" in result.evidence[0]
