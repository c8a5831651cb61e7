"""`verify_ledger` on real SQLite files: a clean ledger passes, every kind of tampering is named."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from carbonlab.node import codec
from carbonlab.node.block import CommitCertificate, checkpoint_vote_bytes
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.rows import decode_header
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.model import Batch
from carbonlab.node.sigcache import VerifiedSignatures
from tests.unit.node.factories import Kit, make_kit

KIT_BLOCKS = 4


def build(path: Path) -> Kit:
    """Four blocks; block 2 also holds a rejected batch; a stable checkpoint at 4."""
    kit = make_kit()
    with Ledger.open(path, kit.genesis) as ledger:
        for h in range(1, KIT_BLOCKS + 1):
            requests = [kit.next_batch("gw1").encode(), kit.next_batch("gw2").encode()]
            if h == 2:
                requests.append(b"\x93garbage")
            ledger.commit(*kit.certified(h, requests, view=h % 2))
        head = ledger.head_hash
        message = checkpoint_vote_bytes(kit.chain_id, KIT_BLOCKS, head)
        ledger.put_checkpoint(KIT_BLOCKS, head, [(m, kit.members[m].sign(message))
                                                 for m in kit.genesis.member_ids[:3]])
    return kit


def edit(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


def fetch(path: Path, sql: str, *args: object) -> tuple:
    db = sqlite3.connect(path)
    row = db.execute(sql, args).fetchone()
    db.close()
    return row


def test_clean_ledger_verifies(tmp_path: Path) -> None:
    kit = build(tmp_path / "l.db")
    report = verify_ledger(tmp_path / "l.db", kit.genesis)
    assert report.problems == []
    assert report.summary() == f"ok: {KIT_BLOCKS} blocks, {KIT_BLOCKS * 3} readings verified"


def alter_reading_bytes(path: Path, kit: Kit) -> None:
    raw = fetch(path, "SELECT request FROM batches WHERE height = 2 AND idx = 0")[0]
    batch = Batch.decode(raw)
    forged = replace(batch.readings[0], co2_kg=batch.readings[0].co2_kg * 0.5)
    new = Batch(batch.chain_id, batch.gateway_id, batch.batch_seq,
                (forged, *batch.readings[1:]), batch.signature).encode()
    edit(path, "UPDATE batches SET request = ? WHERE height = 2 AND idx = 0", new)


def alter_reading_row(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE readings SET co2_kg = co2_kg * 0.5 WHERE height = 3 AND batch_idx = 1")


def swap_certificate_signature(path: Path, kit: Kit) -> None:
    cert = CommitCertificate.from_wire(codec.decode(
        fetch(path, "SELECT certificate FROM blocks WHERE height = 3")[0]))
    sigs = list(cert.signatures)
    sigs[1] = (sigs[1][0], sigs[2][1])
    edit(path, "UPDATE blocks SET certificate = ? WHERE height = 3",
         codec.encode(replace(cert, signatures=tuple(sigs)).to_wire()))


def drop_a_signature(path: Path, kit: Kit) -> None:
    cert = CommitCertificate.from_wire(codec.decode(
        fetch(path, "SELECT certificate FROM blocks WHERE height = 1")[0]))
    edit(path, "UPDATE blocks SET certificate = ? WHERE height = 1",
         codec.encode(replace(cert, signatures=cert.signatures[:2]).to_wire()))


def change_header_field(path: Path, kit: Kit) -> None:
    header = decode_header(fetch(path, "SELECT header FROM blocks WHERE height = 2")[0], "h")
    edit(path, "UPDATE blocks SET header = ? WHERE height = 2",
         codec.encode(replace(header, timestamp_ms=header.timestamp_ms + 1).to_wire()))


def recompute_root_after_tamper(path: Path, kit: Kit) -> None:
    """A forger who rewrites a batch and the header's root still lacks the certificate."""
    alter_reading_bytes(path, kit)
    db = sqlite3.connect(path)
    requests = [r[0] for r in db.execute("SELECT request FROM batches WHERE height = 2 ORDER BY idx")]
    header = decode_header(db.execute("SELECT header FROM blocks WHERE height = 2").fetchone()[0], "h")
    db.close()
    from carbonlab.node.block import BlockHeader, Proposal

    p = Proposal(kit.chain_id, 2, header.timestamp_ms, header.proposer, tuple(requests))
    forged = BlockHeader.for_proposal(p, header.prev_hash)
    edit(path, "UPDATE blocks SET header = ?, hash = ? WHERE height = 2",
         codec.encode(forged.to_wire()), forged.hash)


def delete_block(path: Path, kit: Kit) -> None:
    edit(path, "DELETE FROM blocks WHERE height = 3")


def delete_tail_block(path: Path, kit: Kit) -> None:
    for table in ("blocks", "batches", "readings"):
        edit(path, f"DELETE FROM {table} WHERE height = 4")


def flip_verdict(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE batches SET accepted = 1, reason = NULL, detail = '' WHERE height = 2 AND idx = 2")


def insert_reading(path: Path, kit: Kit) -> None:
    edit(path, "INSERT INTO readings SELECT meter_id, seq + 1000, height, batch_idx, idx + 5, "
               "interval_start, interval_s, co2_pct, co2_basis, o2_pct, h2o_pct, flow_m3_s, temp_c, "
               "pressure_kpa, valid_samples, flag, co2_kg, substituted, anomalies, ch4_kg, n2o_kg, "
               "gross_mwh, heat_input_gj FROM readings "
               "WHERE height = 1 AND batch_idx = 0 AND idx = 0")


def alter_contract_state(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE gateway_state SET last_batch_seq = 1 WHERE gateway_id = 'gw1'")


def alter_genesis_record(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE blocks SET header = X'00' WHERE height = 0")


def move_meter_to_another_company(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE meters SET company = 'globex', plant = 'plant9' WHERE meter_id = 'm1'")


def drop_meter_row(path: Path, kit: Kit) -> None:
    edit(path, "DELETE FROM meters WHERE meter_id = 'm3'")


def alter_block_row_proposer(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE blocks SET proposer = 'n9' WHERE height = 2")


def alter_block_row_time(path: Path, kit: Kit) -> None:
    edit(path, "UPDATE blocks SET timestamp_ms = 0 WHERE height = 3")


def replace_genesis_copy(path: Path, kit: Kit) -> None:
    other = make_kit(chain_id="other").genesis.to_json()
    edit(path, "UPDATE meta SET value = ? WHERE key = 'genesis_json'", json.dumps(other).encode())


def swap_blocks(path: Path, kit: Kit) -> None:
    """Blocks 2 and 3 change places, every row of theirs with them."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for table in ("blocks", "batches", "readings"):
        for old, new in ((2, -1), (3, 2), (-1, 3)):
            db.execute(f"UPDATE {table} SET height = ? WHERE height = ?", (new, old))
    db.execute("COMMIT")
    db.close()


CASES: list[tuple[str, Callable[[Path, Kit], None], int, str]] = [
    ("reading bytes", alter_reading_bytes, 2, "do not hash to the header's batches_root"),
    ("reading bytes break the gateway signature", alter_reading_bytes, 2,
     "batch 0 (gw1/2): the contract says rejected (bad_signature"),
    ("readings table row", alter_reading_row, 3, "reading m3/3 in the readings table differs: co2_kg"),
    ("certificate signature swapped", swap_certificate_signature, 3, "certificate: bad signature by 'n2'"),
    ("certificate short of quorum", drop_a_signature, 1, "certificate: 2 signatures, 3 needed"),
    ("header field", change_header_field, 2, "do not reproduce its proposal_digest"),
    ("header field breaks the chain", change_header_field, 3, "is not the hash of block 2"),
    ("re-rooted forged block", recompute_root_after_tamper, 2,
     "the certificate is for proposal digest "),
    ("deleted block", delete_block, 3, "missing (height 3 is absent, the next stored block is 4)"),
    ("deleted block breaks the chain", delete_block, 4, "is not the hash of block 2"),
    ("deleted tail block", delete_tail_block, 4, "the ledger ends at 3 (blocks were removed)"),
    ("rejection turned into acceptance", flip_verdict, 2, "the contract says rejected (malformed"),
    ("inserted reading", insert_reading, 1, "reading m1/1001 is in the readings table but in no"),
    ("contract state", alter_contract_state, KIT_BLOCKS, "contract-state tables differ"),
    ("genesis record", alter_genesis_record, 0, "genesis record differs"),
    ("meter moved to another company", move_meter_to_another_company, 0,
     "meter 'm1' in the meters table differs from genesis: company 'globex' (genesis: 'acme'), "
     "plant 'plant9' (genesis: 'plant1')"),
    ("meter row dropped", drop_meter_row, 0, "meter 'm3' is in genesis but missing from the meters table"),
    ("block row proposer", alter_block_row_proposer, 2, "the block row's proposer 'n9' is not the "
                                                       "header's 'n1'"),
    ("block row time", alter_block_row_time, 3, "the block row's timestamp_ms 0 is not the header's "),
    ("ledger's copy of genesis", replace_genesis_copy, 0,
     "the ledger's copy of genesis (meta genesis_json) differs from the genesis given"),
    ("swapped blocks", swap_blocks, 2, "the certificate is for seq 3, not this block's height 2"),
]


@pytest.mark.parametrize(("name", "tamper", "height", "message"), CASES, ids=[c[0] for c in CASES])
def test_tampering_is_named_with_its_height(tmp_path: Path, name: str,
                                             tamper: Callable[[Path, Kit], None], height: int,
                                             message: str) -> None:
    path = tmp_path / "l.db"
    kit = build(path)
    tamper(path, kit)
    report = verify_ledger(path, kit.genesis)
    assert not report.ok
    assert any(p.startswith(f"height {height}: ") and message in p for p in report.problems), \
        report.problems


def test_other_genesis_is_reported(tmp_path: Path) -> None:
    build(tmp_path / "l.db")
    report = verify_ledger(tmp_path / "l.db", make_kit(chain_id="other").genesis)
    assert any("another genesis" in p for p in report.problems)


def test_a_byte_flipped_in_the_file_itself_is_named(tmp_path: Path) -> None:
    """Tampering below SQL: one bit of a reading's co2_kg flipped in the database file's bytes."""
    path = tmp_path / "l.db"
    kit = build(path)
    raw = fetch(path, "SELECT request FROM batches WHERE height = 3 AND idx = 1")[0]
    reading = Batch.decode(raw).readings[0].encode()
    data = bytearray(path.read_bytes())
    assert not (tmp_path / "l.db-wal").exists()
    assert data.count(raw) == 1
    at = data.find(raw) + raw.find(reading) + len(reading) - 3  # inside co2_kg's float64
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_ledger(path, kit.genesis)
    assert any(p.startswith("height 3: ") and "batches_root" in p for p in report.problems)
    assert any(p.startswith("height 3: batch 1 (gw2/3): the contract says rejected (bad_signature")
               for p in report.problems), report.problems


def test_a_certificate_message_never_shows_one_digest_as_two(tmp_path: Path) -> None:
    """Swapped blocks: each certificate matches its header's digest, only the height is wrong."""
    path = tmp_path / "l.db"
    kit = build(path)
    swap_blocks(path, kit)
    lines = [p for p in verify_ledger(path, kit.genesis).problems if "the certificate is for" in p]
    assert lines == ["height 2: the certificate is for seq 3, not this block's height 2",
                     "height 3: the certificate is for seq 2, not this block's height 3"]
    for line in verify_ledger(path, kit.genesis).problems:
        digests = re.findall(r"\b[0-9a-f]{16,64}\b", line)
        assert len(digests) == len(set(digests)), line


@pytest.mark.parametrize(("name", "tamper", "height", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_shared_signature_memory_changes_no_finding(tmp_path: Path, name: str,
                                                       tamper: Callable[[Path, Kit], None],
                                                       height: int, message: str) -> None:
    """The rig verifies every member's copy of one chain with one memory of verified
    signatures: warmed by a clean copy, it must still find each tampering in another copy,
    worded as without it."""
    clean, forged = tmp_path / "clean.db", tmp_path / "forged.db"
    kit = build(clean)
    forged.write_bytes(clean.read_bytes())
    tamper(forged, kit)
    memory = VerifiedSignatures()
    assert verify_ledger(clean, kit.genesis, signatures=memory).ok
    verified = memory.verified
    assert verified > 0
    assert verify_ledger(clean, kit.genesis, signatures=memory).ok
    assert memory.verified == verified   # the second copy: every signature from memory
    assert memory.hits >= verified
    assert verify_ledger(forged, kit.genesis, signatures=memory).problems == \
        verify_ledger(forged, kit.genesis).problems
