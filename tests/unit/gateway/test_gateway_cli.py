"""`carbonlab gateway keygen` and `carbonlab gateway outbox` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import DEFAULT_RANGES
from carbonlab.node.model import Basis

T0 = 1_700_000_040
VALUES = {"co2_pct": 10.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 300.0, "temp_c": 120.0,
          "pressure_kpa": 100.0}


def test_keygen_writes_a_key_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "gw1.key"
    assert main(["gateway", "keygen", "--out", str(key)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Signer.load(key).public_key.hex() == out["public_key"]
    assert main(["gateway", "keygen", "--out", str(key)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_outbox_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "GATEWAY.toml").write_text(
        'gateway_id = "gw1"\nkey_file = "k"\ngenesis = "g.json"\ndata_dir = "data"\n'
        'nodes = ["http://127.0.0.1:1"]\n[[meters]]\nid = "m1"\nregister_map = "t100"\nport = 5020\n')
    assert main(["gateway", "outbox", "--config", str(tmp_path / "GATEWAY.toml")]) == 2
    assert "no gateway database yet" in capsys.readouterr().err
    store = Store(tmp_path / "data" / "gateway.db")
    j = Journal(store, JournalParams("c", "gw1"),
                [MeterSpec("m1", 1.0, Basis.WET, DEFAULT_RANGES, 14.0, 900.0)], Signer.generate())
    j.add_samples([], now=T0 - 1)
    j.add_samples([Sample("m1", T0 + i, SampleStatus.OK, dict(VALUES)) for i in range(60)], now=T0 + 60)
    j.seal(now=T0 + 62)
    store.close()
    assert main(["gateway", "outbox", "--config", str(tmp_path / "GATEWAY.toml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["outbox_depth"] == 1
    assert report["next_batch_seq"] == T0 + 63
    assert report["outbox"][0]["batch_seq"] == T0 + 62
    assert report["meters"] == [{"meter_id": "m1", "closed_until": T0 + 60, "last_seq": T0 // 60,
                                 "qa_intervals": 1}]
