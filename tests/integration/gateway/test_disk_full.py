"""A full disk under the gateway's store: the step fails whole, nothing half-written, and once
space is back the same intervals are sealed with nothing lost (real SQLite on a tiny tmpfs)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.outbox import Outbox
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import DEFAULT_RANGES
from carbonlab.node.model import Basis

T0 = 1_700_000_040
VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0}


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                          capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30, check=False)


def fill_disk(mnt: Path) -> Path:
    filler = mnt / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


@pytest.mark.root
@pytest.mark.timeout(120)
def test_disk_full_then_space_back(tiny_fs: Path) -> None:
    meters = [MeterSpec(f"m{i}", 1.0, Basis.WET, DEFAULT_RANGES, 14.0, 900.0) for i in range(20)]
    store = Store(tiny_fs / "gw.db")
    j = Journal(store, JournalParams("c", "gw1"), meters, Signer.from_seed(bytes(32)))
    j.add_samples([], now=T0 - 1)
    samples = [Sample(m.meter_id, T0 + i, SampleStatus.OK, dict(VALUES)) for m in meters for i in range(60)]
    j.add_samples(samples, now=T0 + 60)
    filler = fill_disk(tiny_fs)
    more = [Sample(m.meter_id, T0 + 60 + i, SampleStatus.OK, dict(VALUES))
            for m in meters for i in range(60)] * 20

    def write_until_full() -> None:
        for _ in range(50):                      # the WAL may still hold a few pages
            j.add_samples(more, now=T0 + 61)

    with pytest.raises(sqlite3.OperationalError, match="full"):
        write_until_full()
    filler.unlink()
    # whatever failed left no trace: counters and outbox as before
    batches = j.seal(now=T0 + 62)
    assert sorted(r.meter_id for b in batches for r in b.readings) == sorted(m.meter_id for m in meters)
    assert {r.seq for b in batches for r in b.readings} == {T0 // 60}
    assert Outbox(store).depth() == len(batches)
    store.close()
