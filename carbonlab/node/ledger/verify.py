"""Offline verification of a whole ledger file against genesis, trusting nothing in the file.

Theory of operation. Starting from the genesis document the caller holds, walk the
blocks in height order and check, for each: the header decodes and names its height;
`prev_hash` is the hash *recomputed* from the previous header (block 0: the genesis
hash); the stored hash is the header's; the header's fields reproduce its proposal
digest; the stored request bytes hash to its `batches_root`; the certificate
certifies this height and digest with 2f + 1 valid genesis members' signatures.
Then re-run the contract from an empty state over every block and compare each
verdict, every row of the readings table, the block row's columns copied from the
header, and at the end the contract-state tables. Stable checkpoints must sign the hash
of the block at their height. The tables copied from genesis (`meta`, `meters`) must
equal the genesis given (`verify_genesis`).

A file alone cannot show that nothing was cut from its end. Given the consortium's
signed head (`head.SignedHead`, checked against genesis first), the ledger must reach
its height and hold the very block it certifies there.

Every problem is reported with the height it was found at; the walk goes on after a
problem so that one run lists everything (capped at `MAX_PROBLEMS`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbonlab.node import codec, contract, merkle
from carbonlab.node.allowances import contract as allowance_contract
from carbonlab.node.allowances.contract import AllowanceState
from carbonlab.node.allowances.records import is_record
from carbonlab.node.block import CommitCertificate, checkpoint_vote_bytes
from carbonlab.node.contract import ContractState, Verdict
from carbonlab.node.crypto import verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import aggregate, allowance_rows
from carbonlab.node.ledger.errors import LedgerFileError, StoredValueError
from carbonlab.node.ledger.head import SignedHead
from carbonlab.node.ledger.readfile import LedgerConnection
from carbonlab.node.ledger.rows import (
    batch_row,
    decode_header,
    decode_signatures,
    differing,
    genesis_record,
    reading_rows_of,
)
from carbonlab.node.ledger.sqlite import check_schema, connect
from carbonlab.node.ledger.state import load_state
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.tables import FORMAT, READING_COLUMNS
from carbonlab.node.ledger.verify_file import count_problems, integrity_problems
from carbonlab.node.ledger.verify_genesis import genesis_table_problems
from carbonlab.node.sigcache import VerifiedSignatures

MAX_PROBLEMS = 100


@dataclass
class VerifyReport:
    blocks: int = 0
    readings: int = 0
    # the certified readings summed per meter, day and substitution (aggregate.day_rows)
    certified_days: dict[tuple[str, int, int], tuple[Any, ...]] = field(default_factory=dict,
                                                                        repr=False)
    problems: list[str] = field(default_factory=list)
    head: int | None = None  # the height of the signed head the ledger was compared with

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, height: int, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"height {height}: {problem}")

    def add_file(self, problem: str) -> None:
        """A problem of the SQLite file, at no height (a damaged page or index)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"file: {problem}")

    def summary(self) -> str:
        if self.ok:
            against = "" if self.head is None else \
                f", complete up to the consortium's signed head at {self.head}"
            return f"ok: {self.blocks} blocks, {self.readings} readings verified{against}"
        return f"FAILED: {len(self.problems)} problem(s) in {self.blocks} blocks"


def verify_ledger(path: Path, genesis: Genesis, head: SignedHead | None = None,
                  signatures: VerifiedSignatures | None = None) -> VerifyReport:
    """Check the ledger at `path`, and that it reaches `head` when one is given. Raises
    LedgerError only when the ledger cannot be read at all, HeadError when `head` does not
    verify under genesis (then nothing is compared with it). `signatures`: one memory of
    verified signatures shared by the checks of several copies of one chain (the rig checks
    every member's), so each signature is verified once; the verdicts are the same."""
    if head is not None:
        head.checked(genesis)
    db = connect(path, readonly=True)
    report = VerifyReport()
    try:
        db.execute("BEGIN")      # one snapshot: a live writer's later blocks stay out of it
        for problem in integrity_problems(db):
            report.add_file(problem)
        _verify(db, report, path, genesis, signatures)
        if head is not None:
            _compare_head(db, report, head)
    except sqlite3.DatabaseError as exc:
        if report.ok:
            raise LedgerFileError(path, f"cannot read the ledger ({exc})") from None
        report.add_file(f"the walk stopped: {exc}")   # the damage integrity_check named
    finally:
        db.close()
    if isinstance(db, LedgerConnection) and db.changed():
        raise LedgerFileError(path, "a writer opened the file while it was verified (it had no "
                                    "-wal when opened): verify it again")
    return report


def _verify(db: sqlite3.Connection, report: VerifyReport, path: Path, genesis: Genesis,
            signatures: VerifiedSignatures | None) -> None:
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        raise LedgerFileError(path, f"not a carbonlab ledger of format {FORMAT.decode()}")
    check_schema(meta, path)          # a newer carbonlab's file: this code cannot vouch for it
    if meta.get("genesis_hash") != genesis.hash:
        report.add(0, "the ledger names another genesis hash than the genesis given")
    bad: list[StoredValueError] = []
    rows = select(db, "blocks", ("hash", "header"), "height = 0", problems=bad)
    _add_stored(report, 0, bad)
    if not rows:
        report.add(0, "missing (the genesis record)")
    elif rows[0] != (genesis.hash, genesis_record(genesis)) and not bad:
        report.add(0, "the genesis record differs from the genesis given")
    for problem in genesis_table_problems(db, genesis):
        report.add(0, problem)
    state = ContractState()
    allowances = AllowanceState()
    prev_hash, expected = genesis.hash, 1
    prev_height = 0
    # blocks.height is the rowid: always an integer; the rest of each row is read typed
    for (height,) in db.execute("SELECT height FROM blocks WHERE height > 0 ORDER BY height").fetchall():
        if height != expected:
            gap = f"height {expected} is" if height == expected + 1 else \
                f"heights {expected}..{height - 1} are"
            report.add(expected, f"missing ({gap} absent, the next stored block is {height})")
        expected = height + 1
        report.blocks += 1
        prev_hash = _check_block(db, report, genesis, (state, allowances), height,
                                 (prev_height, prev_hash), signatures)
        prev_height = height
    for table in ("batches", "readings", "allowance_records"):
        orphans = db.execute(f"SELECT DISTINCT height FROM {table} WHERE height NOT IN "
                             "(SELECT height FROM blocks WHERE height > 0) ORDER BY height").fetchall()
        for (height,) in orphans:
            if isinstance(height, int):
                report.add(height, f"rows in the {table} table but no such block")
            else:   # text put in the column by hand: named, escaped, at the head
                report.add(expected - 1, f"rows in the {table} table at height {height!a}, "
                                         "which is not a block height")
    differs = ""
    try:
        same = load_state(db) == state
    except (StoredValueError, SchemaError) as exc:   # a value that cannot be state at all
        same, differs = False, f" ({exc})"
    if not same:
        report.add(expected - 1, f"the contract-state tables differ from a re-run of the contract{differs}")
    for problem in aggregate.problems(db, report.certified_days):
        report.add(expected - 1, problem)
    _check_checkpoints(db, report, genesis, expected - 1, signatures)
    for problem in count_problems(db, report.readings):
        report.add(expected - 1, problem)


def _add_stored(report: VerifyReport, height: int, bad: list[StoredValueError]) -> None:
    for exc in bad:
        report.add(height, str(exc))


def _check_block(db: sqlite3.Connection, report: VerifyReport, genesis: Genesis,
                 states: tuple[ContractState, AllowanceState], height: int,
                 prev: tuple[int, bytes], signatures: VerifiedSignatures | None = None) -> bytes:
    """Check one block; return the hash the next block must link to. A value of the wrong
    type in one of its rows is a problem naming the table, column and row; what does not
    depend on it is still checked."""
    state, allowances = states
    bad: list[StoredValueError] = []
    ((stored_hash, header_bytes, cert_bytes, *columns),) = select(
        db, "blocks", ("hash", "header", "certificate", "reading_count", "timestamp_ms", "proposer",
                       "batch_count"), "height = ?", (height,), problems=bad)
    _add_stored(report, height, bad)
    unread = {exc.column for exc in bad}
    reading_count = columns[0]
    if header_bytes is None:
        return prev[1] if stored_hash is None else stored_hash   # reported above
    try:
        header = decode_header(header_bytes, "header")
    except SchemaError as exc:
        report.add(height, f"the header does not decode ({exc})")
        return prev[1] if stored_hash is None else stored_hash
    if header.height != height:
        report.add(height, f"the header says height {header.height}")
    if header.chain_id != genesis.chain_id:
        report.add(height, f"the header names chain {header.chain_id!r}, not {genesis.chain_id!r}")
    if header.prev_hash != prev[1]:
        report.add(height, f"prev_hash {header.prev_hash.hex()[:16]} is not the hash of block "
                           f"{prev[0]} ({prev[1].hex()[:16]})")
    if stored_hash != header.hash and "hash" not in unread:
        report.add(height, "the stored block hash is not the hash of the stored header")
    if not header.proposal_digest_matches():
        report.add(height, "the header's fields do not reproduce its proposal_digest "
                           "(a header field was altered)")
    copied = (header.timestamp_ms, header.proposer, header.batch_count)
    for name, have, want in zip(("timestamp_ms", "proposer", "batch_count"), columns[1:], copied,
                                strict=True):
        if have != want and name not in unread:
            report.add(height, f"the block row's {name} {have!r} is not the header's {want!r}")
    bad = []
    rows = select(db, "batches", ("idx", "request", "accepted", "reason", "detail", "gateway_id",
                                  "batch_seq", "anomalies", "field"), "height = ?", (height,),
                  order="idx", problems=bad)
    _add_stored(report, height, bad)
    # a request that is not a blob was named above; as no bytes it fails every check after
    rows = [(r[0], r[1] or b"", *r[2:]) for r in rows]
    requests = tuple(r[1] for r in rows)
    if [r[0] for r in rows] != list(range(len(rows))) or len(rows) != header.batch_count:
        report.add(height, f"{len(rows)} stored batches, the header says {header.batch_count}")
    elif merkle.root(requests) != header.batches_root:
        report.add(height, "the stored batch bytes do not hash to the header's batches_root "
                           "(a batch or reading was altered)")
    if "certificate" not in unread:
        _check_certificate(report, genesis, height, header.proposal_digest, cert_bytes, signatures)
    expected_readings: list[tuple[Any, ...]] = []
    expected_records: list[tuple[Any, ...]] = []
    for row in rows:
        idx, request = row[0], row[1]
        if is_record(request):
            outcome = allowance_contract.evaluate_and_apply(genesis, allowances, request,
                                                            header.timestamp_ms)
            _compare_verdict(report, height, idx, request, allowance_rows.RECORD_VERDICT, row)
            expected_records.append(allowance_rows.record_row(height, idx, outcome))
            continue
        verdict, batch = contract.evaluate_and_apply(genesis, state, request, signatures)
        _compare_verdict(report, height, idx, request, verdict, row)
        if batch is not None and verdict.accepted:
            expected_readings.extend(reading_rows_of(height, idx, batch, verdict))
    bad = []
    stored = select(db, "readings", READING_COLUMNS, "height = ?", (height,), order="batch_idx, idx",
                    problems=bad)
    _add_stored(report, height, bad)
    if not bad:     # a row with a value of the wrong type is named above, not compared
        _compare_readings(report, height, expected_readings, stored, db)
    report.readings += len(expected_readings)
    for problem in allowance_rows.problems(db, height, expected_records):
        report.add(height, problem)
    aggregate.merge_into(report.certified_days, aggregate.day_rows(expected_readings))
    if reading_count != len(expected_readings):
        report.add(height, f"the block row counts {reading_count} readings, the batches hold "
                           f"{len(expected_readings)}")
    return header.hash


def _check_certificate(report: VerifyReport, genesis: Genesis, height: int, digest: bytes,
                       cert_bytes: bytes | None, signatures: VerifiedSignatures | None = None) -> None:
    if cert_bytes is None:
        report.add(height, "no commit certificate")
        return
    try:
        cert = CommitCertificate.from_wire(codec.decode(bytes(cert_bytes), "certificate"))
    except SchemaError as exc:
        report.add(height, f"the certificate does not decode ({exc})")
        return
    wrong = cert.mismatch(height, digest)
    if wrong is not None:
        report.add(height, wrong)
    problem = cert.check(genesis.chain_id, genesis.member_keys, genesis.quorum, signatures)
    if problem is not None:
        report.add(height, f"certificate: {problem}")


def _compare_verdict(report: VerifyReport, height: int, idx: int, request: bytes, verdict: Verdict,
                     row: tuple[Any, ...]) -> None:
    # request, accepted, reason, detail, gateway_id, batch_seq, anomalies, field
    stored = tuple(row[1:])
    fresh = batch_row(height, idx, request, verdict)
    # a NULL field is a row written before the column: its detail (compared) names the field
    field = fresh[9] if stored[7] is None else stored[7]
    mine = (fresh[2], fresh[5], fresh[6], fresh[7], fresh[3], fresh[4], fresh[8], fresh[9])
    theirs = (stored[0], stored[1], stored[2], stored[3], stored[4], stored[5], stored[6], field)
    if mine != theirs:
        now = "accepted" if verdict.accepted else f"rejected ({verdict.reason}: {verdict.detail})"
        was = "accepted" if stored[1] else f"rejected ({stored[2]}: {stored[3]})"
        who = f"{verdict.gateway_id}/{verdict.batch_seq}" if verdict.gateway_id else "undecodable"
        report.add(height, f"batch {idx} ({who}): the contract says {now}, the ledger recorded {was}"
                           + ("" if now != was else " (verdict details differ)"))


def _compare_readings(report: VerifyReport, height: int, expected: list[tuple[Any, ...]],
                      stored: list[tuple[Any, ...]], db: sqlite3.Connection) -> None:
    want = {(r[0], r[1]): r for r in expected}
    have = {(r[0], r[1]): tuple(r) for r in stored}
    for key in sorted(set(want) | set(have)):
        name = f"reading {key[0]}/{key[1]}"
        if key not in have:
            report.add(height, f"{name} is in a certified batch but missing from the readings "
                               f"table{_elsewhere(db, key)}")
        elif key not in want:
            report.add(height, f"{name} is in the readings table but in no accepted certified batch")
        elif want[key] != have[key]:
            report.add(height, f"{name} in the readings table differs: "
                               f"{differing(READING_COLUMNS, have[key], want[key], 'certified')}")


def _elsewhere(db: sqlite3.Connection, key: tuple[Any, ...]) -> str:
    """Where the table has the reading instead, when its height is of the wrong type (text put
    in by hand): one lookup by its key, on the error path only."""
    bad: list[StoredValueError] = []
    found = select(db, "readings", ("height",), "meter_id = ? AND seq = ?", key, problems=bad)
    if bad:
        return f" at its height (its row's height {bad[0].problem})"
    return f" at its height (its row is at height {found[0][0]})" if found else ""


def _check_checkpoints(db: sqlite3.Connection, report: VerifyReport, genesis: Genesis,
                       top: int, known: VerifiedSignatures | None = None) -> None:
    check_signature = verify if known is None else known.verify
    bad: list[StoredValueError] = []
    for seq, block_hash, sigs in select(db, "checkpoints", ("seq", "block_hash", "signatures"),
                                        order="seq", problems=bad):
        rows = select(db, "blocks", ("header",), "height = ?", (seq,), problems=bad)
        if not rows:
            report.add(seq, f"a stable checkpoint signs block {seq}, but the ledger ends at {top} "
                            "(blocks were removed)")
            continue
        if None in (rows[0][0], block_hash, sigs):
            continue    # named below
        try:
            header = decode_header(rows[0][0], "header")
            signatures = decode_signatures(sigs, "checkpoint.signatures")
        except SchemaError as exc:
            report.add(seq, f"checkpoint or header does not decode ({exc})")
            continue
        if header.hash != block_hash:
            report.add(seq, "the stable checkpoint signs another block hash than the stored block's")
        message = checkpoint_vote_bytes(genesis.chain_id, seq, block_hash)
        good = {m for m, s in signatures
                if m in genesis.member_keys and check_signature(genesis.member_keys[m], s, message)}
        if len(good) < genesis.quorum:
            report.add(seq, f"the stable checkpoint has {len(good)} valid signatures, "
                            f"{genesis.quorum} needed")
    _add_stored(report, top, [exc for exc in bad if exc.table == "checkpoints"])


def _compare_head(db: sqlite3.Connection, report: VerifyReport, head: SignedHead) -> None:
    """Truncated, forked, or reaching the head (a ledger longer than the head is fine)."""
    report.head = head.height
    top = int(db.execute("SELECT MAX(height) FROM blocks").fetchone()[0] or 0)
    if top < head.height:
        report.add(top + 1, f"truncated: ends at {top}, the consortium's signed head is {head.height}")
        return
    rows = select(db, "blocks", ("header",), "height = ?", (head.height,), problems=[])
    if not rows or rows[0][0] is None:
        return  # already reported as missing, or as not a blob
    try:
        mine = decode_header(rows[0][0], "header")
    except SchemaError:
        return  # already reported as undecodable
    if mine.proposal_digest != head.header.proposal_digest:
        report.add(head.height, f"fork: block {head.height} holds proposal "
                                f"{mine.proposal_digest.hex()[:16]}, the consortium's signed head "
                                f"certifies {head.header.proposal_digest.hex()[:16]}")
    elif mine.hash != head.block_hash:
        report.add(head.height, f"fork: block {head.height} has the certified proposal but hash "
                                f"{mine.hash.hex()[:16]}, the signed head's is {head.block_hash.hex()[:16]} "
                                f"(prev_hash {mine.prev_hash.hex()[:16]} vs "
                                f"{head.header.prev_hash.hex()[:16]}: the chains differ below "
                                f"{head.height})")
