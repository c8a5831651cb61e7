"""The commit's row builders (rows.reading_rows_of, aggregate.day_rows) against plain
re-statements of what each row must hold."""

from __future__ import annotations

import random

from carbonlab.node.anomaly import Anomaly
from carbonlab.node.contract import Verdict
from carbonlab.node.ledger import aggregate
from carbonlab.node.ledger.rows import reading_rows_of
from carbonlab.node.ledger.tables import READING_COLUMNS
from carbonlab.node.model import Basis, Batch, DataFlag, Reading


def _reading(seq: int, *, flag: DataFlag = DataFlag.NORMAL, substituted: bool = False) -> Reading:
    return Reading("m1", seq, 1_700_000_040 + 60 * seq, 60, 11.0, Basis.DRY, 6.0, 8.0, 120.0, 140.0,
                   100.5, 60, flag, 1.5 * seq, substituted)


def test_reading_rows_hold_every_column_and_the_marks_of_each_reading() -> None:
    readings = (_reading(1), _reading(2, flag=DataFlag.CALIBRATION, substituted=True), _reading(3))
    batch = Batch("c", "gw1", 7, readings, b"\0" * 64)
    verdict = Verdict(True, None, "", "gw1", 7, ((1, Anomaly.CALIBRATION), (1, Anomaly.SUBSTITUTED),
                                                (2, Anomaly.SPIKE)))
    rows = reading_rows_of(9, 4, batch, verdict)
    assert [len(r) for r in rows] == [len(READING_COLUMNS)] * 3
    second = dict(zip(READING_COLUMNS, rows[1], strict=True))
    assert second == {"meter_id": "m1", "seq": 2, "height": 9, "batch_idx": 4, "idx": 1,
                      "interval_start": 1_700_000_160, "interval_s": 60, "co2_pct": 11.0,
                      "co2_basis": "dry", "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 120.0,
                      "temp_c": 140.0, "pressure_kpa": 100.5, "valid_samples": 60, "flag": "C",
                      "co2_kg": 3.0, "substituted": 1, "anomalies": "calibration,substituted",
                      "ch4_kg": None, "n2o_kg": None, "gross_mwh": None, "heat_input_gj": None}
    # stored as plain text and int, as SQLite hands them back (verify compares exactly)
    assert type(second["co2_basis"]) is str
    assert type(second["flag"]) is str
    assert type(second["substituted"]) is int
    assert [r[READING_COLUMNS.index("anomalies")] for r in rows] == ["", "calibration,substituted",
                                                                     "spike"]


def _plain_day_rows(rows: list[tuple[object, ...]]) -> dict[tuple[object, ...], list[object]]:
    at = {c: i for i, c in enumerate(READING_COLUMNS)}
    out: dict[tuple[object, ...], list[object]] = {}
    for row in rows:
        start = row[at["interval_start"]]
        assert isinstance(start, int)
        key = (row[at["meter_id"]], start - start % aggregate.DAY_S, int(row[at["substituted"]]))  # type: ignore[call-overload]
        acc = out.setdefault(key, [0] + [None] * len(aggregate.SUMS))
        acc[0] += 1  # type: ignore[operator]
        for j, name in enumerate(aggregate.SUMS, 1):
            value = row[at[name]]
            if value is not None:
                acc[j] = value if acc[j] is None else acc[j] + value  # type: ignore[operator]
    return out


def test_day_rows_sum_per_meter_day_and_substitution_with_nulls_until_a_value() -> None:
    rng = random.Random(17)
    rows = []
    for seq in range(1, 400):
        row = dict.fromkeys(READING_COLUMNS)
        row.update(meter_id=rng.choice(("m1", "m2")), interval_start=seq * 3_600,
                   substituted=rng.randint(0, 1), co2_kg=rng.random() * 100)
        for name in aggregate.SUMS[1:]:   # the optional channels: NULL on some readings
            row[name] = rng.random() if rng.random() < 0.3 else None
        rows.append(tuple(row[c] for c in READING_COLUMNS))
    got = {tuple(r[:3]): list(r[3:]) for r in aggregate.day_rows(rows)}
    assert got == _plain_day_rows(rows)
    assert any(v[2] is None for v in got.values())
    assert any(v[2] is not None for v in got.values())
