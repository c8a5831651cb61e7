"""The outbox on a real SQLite file: order, committed, dead letters, reopen after close."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.outbox import Outbox
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store, StoreError
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import DEFAULT_RANGES
from carbonlab.node.model import Basis

T0 = 1_700_000_040
VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0}


def fill(tmp_path: Path, minutes: int) -> Store:
    store = Store(tmp_path / "gw.db")
    j = Journal(store, JournalParams("c", "gw1", batch_max_readings=1),
                [MeterSpec("m1", 1.0, Basis.WET, DEFAULT_RANGES, 14.0, 900.0)], Signer.generate())
    j.add_samples([], now=T0 - 1)
    for k in range(minutes):
        j.add_samples([Sample("m1", T0 + 60 * k + i, SampleStatus.OK, dict(VALUES)) for i in range(60)],
                      now=T0 + 60 * k + 60)
        j.seal(now=T0 + 60 * k + 62)
    return store


def test_drains_in_order_and_survives_reopen(tmp_path: Path) -> None:
    store = fill(tmp_path, 4)
    box = Outbox(store)
    assert box.depth() == 4
    first = box.oldest()
    assert first is not None
    b1 = first.batch_seq
    assert b1 == T0 + 62             # the clock at the first seal
    box.committed(b1, height=7)
    box.attempted(b1 + 1)
    store.close()
    box = Outbox(Store(tmp_path / "gw.db"))
    assert [e.batch_seq for e in box.entries()] == [b1 + 1, b1 + 2, b1 + 3]
    assert box.entries()[0].attempts == 1
    assert box.committed_count() == 1
    assert box.oldest_age_s(now=T0 + 60 * 4 + 62) == pytest.approx(60 * 3)


def test_rejected_batch_goes_to_dead_letters_with_reason(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(fill(tmp_path, 2))
    b1 = T0 + 62
    with caplog.at_level(logging.WARNING):
        box.dead_letter(b1, "out_of_range", "readings[0].co2_pct")
    assert f"batch {b1} rejected by the chain (out_of_range" in caplog.text
    dead = box.dead_letters()
    assert [(d["batch_seq"], d["reason"], d["n_readings"]) for d in dead] == [(b1, "out_of_range", 1)]
    assert [e.batch_seq for e in box.entries()] == [b1 + 1]


def test_backlog_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(fill(tmp_path, 3), warn_batches=3)
    with caplog.at_level(logging.WARNING):
        assert not box.check_space()
        assert not box.check_space()
    assert caplog.text.count("outbox holds 3 batches") == 1   # one warning per episode
    box.committed(T0 + 62, None)
    assert box.check_space()


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "gw.db").mkdir()
    with pytest.raises(StoreError, match="cannot open gateway database"):
        Store(tmp_path / "gw.db")
