"""Anomaly marks: accepted readings that a verifier should look at, one table row per mark."""

from __future__ import annotations

from typing import Any

import pytest

from carbonlab.node.anomaly import Anomaly, Baseline
from carbonlab.node.contract import ContractState, evaluate, execute
from carbonlab.node.model import DataFlag
from tests.unit.node.factories import T0, make_kit, make_reading

KIT = make_kit(meters={"m2": {"spike_ratio": 0.1, "stuck_intervals": 3}})
N, C, M = DataFlag.NORMAL, DataFlag.CALIBRATION, DataFlag.MAINTENANCE


def run(meter: str, series: list[dict[str, Any]], one_batch: bool = False) -> list[set[Anomaly]]:
    """Feed readings of one meter in order; return the marks each got."""
    readings = [make_reading(meter, i + 1, T0 + 60 * i, **values) for i, values in enumerate(series)]
    batches = [readings] if one_batch else [[r] for r in readings]
    state = ContractState()
    marks: list[set[Anomaly]] = []
    for seq, chunk in enumerate(batches, start=1):
        request = KIT.batch("gw1", seq, chunk).encode()
        verdict, _ = evaluate(KIT.genesis, state, request)
        assert verdict.accepted, verdict.detail
        marks.extend({a for idx, a in verdict.anomalies if idx == i} for i in range(len(chunk)))
        execute(KIT.genesis, state, KIT.proposal(seq, [request]))
    return marks


def v(co2: float = 11.0, flow: float = 120.0, **kw: Any) -> dict[str, Any]:
    return {"co2_pct": co2, "flow_m3_s": flow, **kw}


def varying(k: int) -> list[dict[str, Any]]:
    return [v(11.0 + 0.01 * i, 120.0 + 0.1 * i) for i in range(k)]


CASES: list[tuple[str, str, list[dict[str, Any]], list[set[Anomaly]]]] = [
    ("first reading has no baseline", "m1", [v(24.0)], [set()]),
    ("co2 jumps beyond ratio", "m1", [v(11.0), v(16.6)], [set(), {Anomaly.SPIKE}]),
    ("co2 change within ratio", "m1", [v(11.0), v(16.4)], [set(), set()]),
    ("flow drops beyond ratio", "m1", [v(flow=120.0), v(flow=59.0)], [set(), {Anomaly.SPIKE}]),
    ("meter's own spike ratio", "m2", [v(11.0), v(12.2)], [set(), {Anomaly.SPIKE}]),
    ("from zero flow", "m1", [v(flow=0.0), v(flow=1.0)], [set(), {Anomaly.SPIKE}]),
    ("stuck after stuck_intervals", "m1", [v()] * 5, [set()] * 4 + [{Anomaly.STUCK}]),
    ("stays stuck", "m1", [v()] * 6, [set()] * 4 + [{Anomaly.STUCK}] * 2),
    ("one short of stuck", "m1", [v()] * 4 + [v(11.1, 121.0)], [set()] * 5),
    ("co2 frozen while flow moves", "m1", [v(11.0, 120.0 + i) for i in range(5)],
     [set()] * 4 + [{Anomaly.STUCK}]),
    ("meter's own stuck_intervals", "m2", [v()] * 3, [set(), set(), {Anomaly.STUCK}]),
    ("varying values never stuck", "m1", varying(8), [set()] * 8),
    ("calibration flag", "m1", [v(), v(flag=C)], [set(), {Anomaly.CALIBRATION}]),
    ("maintenance flag", "m1", [v(), v(flag=M)], [set(), {Anomaly.MAINTENANCE}]),
    ("substituted reading", "m1", [v(), v(substituted=True)], [set(), {Anomaly.SUBSTITUTED}]),
    ("substituted during calibration", "m1", [v(flag=C, substituted=True)],
     [{Anomaly.CALIBRATION, Anomaly.SUBSTITUTED}]),
    ("calibration gas is not a spike and is no baseline", "m1",
     [v(11.0), v(20.0, flag=C), v(11.2)], [set(), {Anomaly.CALIBRATION}, set()]),
    ("spike against the last normal reading across a calibration", "m1",
     [v(11.0), v(11.0, flag=C), v(18.0)], [set(), {Anomaly.CALIBRATION}, {Anomaly.SPIKE}]),
    ("flagged readings do not count towards stuck", "m1",
     [v(), v(), v(flag=M), v(), v()], [set(), set(), {Anomaly.MAINTENANCE}, set(), set()]),
    ("spike and stuck together", "m1", [v(11.0, 120.0)] * 4 + [v(11.0, 300.0)],
     [set()] * 4 + [{Anomaly.SPIKE, Anomaly.STUCK}]),
]


@pytest.mark.parametrize(("name", "meter", "series", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("one_batch", [False, True], ids=["batch-per-reading", "one-batch"])
def test_anomaly_marks(name: str, meter: str, series: list[dict[str, Any]],
                       expected: list[set[Anomaly]], one_batch: bool) -> None:
    assert run(meter, series, one_batch) == expected


def test_every_anomaly_has_a_case() -> None:
    assert set().union(*(m for c in CASES for m in c[3])) == set(Anomaly)


def test_anomalies_name_the_reading_index() -> None:
    state = ContractState()
    readings = [make_reading("m1", 1, T0), make_reading("m2", 1, T0),
                make_reading("m1", 2, T0 + 60, flag=C), make_reading("m2", 2, T0 + 60, co2_pct=20.0)]
    verdict, _ = evaluate(KIT.genesis, state, KIT.batch("gw1", 1, readings).encode())
    assert verdict.accepted
    assert verdict.anomalies == ((2, Anomaly.CALIBRATION), (3, Anomaly.SPIKE))


def test_baseline_wire_round_trip() -> None:
    baseline = Baseline((11.5, 120.25), (1, 4))
    assert Baseline.from_wire(baseline.to_wire()) == baseline
