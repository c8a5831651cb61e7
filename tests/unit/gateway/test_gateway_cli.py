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


@pytest.mark.parametrize(("out", "message"), [
    ("k", "--out {tmp}/k: is a directory; give the path of a new key file"),
    ("", "--out .: is a directory; give the path of a new key file"),
    ("a.key/b.key", "--out {tmp}/a.key/b.key: cannot create its folder: {tmp}/a.key is a file"),
    ("a.key/sub/b.key",
     "--out {tmp}/a.key/sub/b.key: cannot create its folder {tmp}/a.key/sub (Not a directory)"),
])
def test_keygen_where_no_key_can_go_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch, out: str,
                                                     message: str) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "a.key").write_text("a key that must stay")
    if out == "":
        monkeypatch.chdir(tmp_path)
    arg = out if out == "" else str(tmp_path / out)
    assert main(["gateway", "keygen", "--out", arg]) == 2
    assert capsys.readouterr().err == f"carbonlab: error: {message.format(tmp=tmp_path)}\n"
    assert (tmp_path / "a.key").read_text() == "a key that must stay"
    assert list((tmp_path / "k").iterdir()) == []


GATEWAY_TOML = ('gateway_id = "gw1"\nkey_file = "k"\ngenesis = "g.json"\ndata_dir = "data"\n'
                'nodes = ["http://127.0.0.1:1"]\n[[meters]]\nid = "m1"\nregister_map = "t100"\nport = 5020\n')


def _outbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "GATEWAY.toml").write_text(GATEWAY_TOML)
    rc = main(["gateway", "outbox", "--config", str(tmp_path / "GATEWAY.toml")])
    return rc, capsys.readouterr().err


def test_outbox_of_an_empty_file_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "data" / "gateway.db"
    db.parent.mkdir()
    db.write_bytes(b"")
    rc, err = _outbox(tmp_path, capsys)
    assert rc == 2
    assert "not a gateway database (it has none of its tables" in err
    assert db.read_bytes() == b""                       # the schema was created in it
    assert sorted(p.name for p in db.parent.iterdir()) == ["gateway.db"]   # no -wal, no -shm


def test_outbox_reads_a_copy_without_writing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "data" / "gateway.db"
    Store(db).close()
    db.chmod(0o444)
    before = db.read_bytes()
    rc, err = _outbox(tmp_path, capsys)
    assert rc == 0, err
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["gateway.db"]   # opened immutable: no -wal


@pytest.mark.parametrize(("edit", "message"), [
    ("UPDATE meta SET value = 'abc' WHERE key = 'next_batch_seq'",
     "table 'meta', column 'value': a value of type text where integer is expected"),
    ("DROP TABLE meta; CREATE TABLE meta (x)", "table 'meta' has no column 'key' (it has x)"),
    ("DROP TABLE outbox", "not a gateway database: no table 'outbox'"),
    ("UPDATE meters SET last_seq = 1.5", "table 'meters', column 'last_seq': a value of type real"),
])
def test_outbox_of_a_hand_edited_database_names_table_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str, message: str) -> None:
    import sqlite3

    db = tmp_path / "data" / "gateway.db"
    store = Store(db)
    with store.transaction() as conn:
        Store.set_meta(conn, "next_batch_seq", 7)
        conn.execute("INSERT INTO meters VALUES ('m1', 0, 0, 0)")
    store.close()
    with sqlite3.connect(db) as conn:
        conn.executescript(edit)
    conn.close()
    rc, err = _outbox(tmp_path, capsys)
    assert rc == 2
    assert err.startswith(f"carbonlab: error: {db}: ")
    assert message in err
