"""The SQLite ledger: commit, reopen, refuse what does not extend the chain, consensus records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carbonlab.node.contract import Reason
from carbonlab.node.ledger import Ledger, LedgerError
from carbonlab.node.ledger.verify import verify_ledger
from tests.unit.node.factories import Kit, make_kit

KIT_ARGS = dict(n=4)


def fill(ledger: Ledger, kit: Kit, blocks: int, per_block: int = 2) -> None:
    for _ in range(blocks):
        requests = [kit.next_batch("gw1" if i % 2 == 0 else "gw2").encode() for i in range(per_block)]
        ledger.commit(*kit.certified(ledger.height + 1, requests))


def test_new_ledger_holds_the_genesis_record(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.height == 0
        assert ledger.head_hash == kit.genesis.hash
        assert ledger.block(0) is None
        assert ledger.block_hash(0) == kit.genesis.hash
        assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db = sqlite3.connect(tmp_path / "l.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_new_ledger_has_8_kib_pages_and_an_older_4_kib_file_keeps_its_own(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "new.db", kit.genesis) as ledger:
        fill(ledger, kit, 2)
        assert ledger._db.execute("PRAGMA page_size").fetchone()[0] == 8192
    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.execute("PRAGMA page_size=4096")
    db.execute("VACUUM")
    db.close()
    with Ledger.open(old, kit.genesis) as ledger:       # created as 4 KiB: opened, extended, kept
        fill(ledger, kit, 2)
        assert ledger.height == 2
        assert ledger._db.execute("PRAGMA page_size").fetchone()[0] == 4096


def test_commit_chains_blocks_and_reads_them_back(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        b1, b2 = kit.next_batch("gw1"), kit.next_batch("gw2")
        p1, c1 = kit.certified(1, [b1.encode(), b2.encode()])
        committed = ledger.commit(p1, c1)
        assert ledger.height == 1
        assert committed.header.prev_hash == kit.genesis.hash
        assert ledger.head_hash == committed.header.hash
        assert [v.accepted for v in committed.verdicts] == [True, True]
        p2, c2 = kit.certified(2, [kit.next_batch("gw1").encode(), b1.encode()], view=3)
        second = ledger.commit(p2, c2)
        assert second.header.prev_hash == committed.header.hash
        assert second.verdicts[1].reason is Reason.REPLAY_BATCH
        again = ledger.block(2)
        assert again == second
        assert again is not None
        assert again.proposal.digest == p2.digest
        assert again.certificate == c2
        assert [b.header.height for b in ledger.blocks(0, 10)] == [1, 2]
        assert ledger.block(3) is None
        assert ledger.reading_count() == 3 + 2


def test_reopen_restores_height_head_and_contract_state(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        fill(ledger, kit, 3)
        head, state = ledger.head_hash, ledger.state
        old = ledger.block(1)
        assert old is not None
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert (ledger.height, ledger.head_hash) == (3, head)
        assert ledger.state == state
        replay = ledger.commit(*kit.certified(4, list(old.proposal.requests)))
        assert {v.reason for v in replay.verdicts} == {Reason.REPLAY_BATCH}
        fill(ledger, kit, 1)
        assert ledger.height == 5


@pytest.mark.parametrize("problem", ["seq gap", "seq repeat", "other digest", "other chain"])
def test_commit_refuses_what_does_not_extend_the_chain(tmp_path: Path, problem: str) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        fill(ledger, kit, 1)
        request = kit.next_batch().encode()
        proposal, cert = kit.certified(2, [request])
        if problem == "seq gap":
            proposal, cert = kit.certified(3, [request])
        elif problem == "seq repeat":
            proposal, cert = kit.certified(1, [request])
        elif problem == "other digest":
            cert = kit.certify(kit.proposal(2, [request], timestamp_ms=5))
        else:
            other = make_kit(chain_id="other")
            proposal, cert = other.certified(2, [request])
        with pytest.raises(LedgerError, match=r"proposal\.seq|certificate|chain_id"):
            ledger.commit(proposal, cert)
        assert ledger.height == 1
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.height == 1
        assert ledger.reading_count() == 3


def test_ledger_of_another_genesis_is_refused(tmp_path: Path) -> None:
    Ledger.open(tmp_path / "l.db", make_kit().genesis).close()
    with pytest.raises(LedgerError, match="made for genesis"):
        Ledger.open(tmp_path / "l.db", make_kit(chain_id="other").genesis)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match=r"junk\.db"):
        Ledger.open(junk, make_kit().genesis)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not a carbonlab ledger"):
        Ledger.open(other, make_kit().genesis)


@pytest.mark.parametrize("marker", [b"3", b"99", "3", 7])         # a blob, or hand-edited text or number
def test_a_ledger_of_a_newer_schema_is_refused_and_left_as_it_was(tmp_path: Path,
                                                                   marker: bytes | str | int) -> None:
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        fill(ledger, kit, 2)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (marker,))
    db.commit()
    db.close()
    before = path.read_bytes()
    for opening in (lambda: Ledger.open(path, kit.genesis), lambda: Ledger.open_readonly(path),
                    lambda: verify_ledger(path, kit.genesis)):
        shown = marker.decode() if isinstance(marker, bytes) else marker
        with pytest.raises(LedgerError, match=rf"newer carbonlab \(ledger schema {shown};"):
            opening()
    assert path.read_bytes() == before                       # not marked older, nothing written
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (marker,)
    db.close()


@pytest.mark.parametrize("marker", [b"\x00", b"1", None])
def test_an_older_missing_or_garbled_schema_marker_is_set_again(tmp_path: Path, marker: bytes | None) -> None:
    kit = make_kit()
    path = tmp_path / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        fill(ledger, kit, 2)
    db = sqlite3.connect(path)
    if marker is None:
        db.execute("DELETE FROM meta WHERE key = 'schema'")
    else:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (marker,))
    db.commit()
    db.close()
    with Ledger.open(path, kit.genesis) as ledger:
        assert ledger.height == 2
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (b"2",)
    db.close()


def test_consensus_records_and_checkpoints_survive_reopen(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        ids = [ledger.save_consensus_record(r) for r in (b"a", b"bb", b"\x00c")]
        assert ids == sorted(ids)
        fill(ledger, kit, 2)
        assert ledger.stable_checkpoint() is None
        ledger.put_checkpoint(1, ledger.block_hash(1) or b"", [("n1", b"s" * 64)])
        ledger.put_checkpoint(2, ledger.block_hash(2) or b"", [("n2", b"t" * 64)])
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.load_consensus_records() == [b"a", b"bb", b"\x00c"]
        ledger.replace_consensus_records([b"z"])
        assert ledger.load_consensus_records() == [b"z"]
        cp = ledger.stable_checkpoint()
        assert cp is not None
        assert (cp.seq, cp.block_hash, cp.signatures) == (2, ledger.block_hash(2), (("n2", b"t" * 64),))


def test_a_failed_write_rolls_back_whole_and_leaves_the_ledger_usable(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        ledger.save_consensus_records([b"a", b"b"])
        bad: list[bytes] = [b"z", object()]  # type: ignore[list-item]   # SQLite cannot bind it
        with pytest.raises(sqlite3.ProgrammingError):
            ledger.replace_consensus_records(bad)
        assert ledger.load_consensus_records() == [b"a", b"b"]   # the DELETE went back too
        with pytest.raises(sqlite3.ProgrammingError):
            ledger.save_consensus_records([b"c", bad[1]])
        assert ledger.load_consensus_records() == [b"a", b"b"]
        fill(ledger, kit, 1)                                      # no transaction left open
        ledger.save_consensus_records([b"c"])
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        assert ledger.height == 1
        assert ledger.load_consensus_records() == [b"a", b"b", b"c"]


def test_a_query_ledger_on_the_same_file_sees_new_blocks(tmp_path: Path) -> None:
    kit = make_kit()
    with Ledger.open(tmp_path / "l.db", kit.genesis) as writer, \
            Ledger.open(tmp_path / "l.db", kit.genesis) as reader, \
            Ledger.open_readonly(tmp_path / "l.db") as readonly:
        fill(writer, kit, 2)
        for query in (reader, readonly):
            assert query.height == 2
            assert query.head_hash == writer.head_hash
            assert [b.header.height for b in query.blocks(1, 5)] == [1, 2]
            assert query.reading_proof("m1", 2) is not None
            assert len(query.readings(meter="m3")) == 2
        with pytest.raises(LedgerError, match="another writer"):
            reader.commit(*kit.certified(1, [kit.next_batch().encode()]))
        fill(writer, kit, 1)
        assert reader.height == 3
