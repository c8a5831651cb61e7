"""The ledger: certified blocks and what the contract made of them, in one SQLite file.

Theory of operation. `commit` runs the contract over the proposal against a copy of
the in-memory contract state, then writes the block header, its certificate, every
request's raw bytes with its verdict, the accepted readings and the changed contract
state in ONE transaction; only after that transaction is durable does the in-memory
state move on. A process killed at any instant therefore reopens either before or
after the whole block, never in between: SQLite's WAL makes the transaction atomic,
and `synchronous=FULL` makes it durable when `commit` returns (the WAL is fsynced at
every commit, so a power cut after a node said "committed" loses nothing; NORMAL
would only survive process crashes). Reopening rebuilds the state from the tables.

Consensus records (the replica's `Persist` actions) live in the same file: in their
own transactions (`save_consensus_records`), or in the transaction of the block that
follows them (`commit(..., records=...)`), so a burst of votes and the block it
certifies cost one fsync, durable before the call returns.

The object is used from one thread at a time, not necessarily always the same
thread (the node calls it from trio's worker threads).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from carbonlab.node import codec, contract
from carbonlab.node.allowances import contract as allowance_contract
from carbonlab.node.allowances.answers import Balance, RecordEntry, RecordStatus
from carbonlab.node.allowances.contract import AllowanceState, Outcome
from carbonlab.node.allowances.records import Kind, is_record
from carbonlab.node.block import BlockHeader, CommitCertificate, Proposal
from carbonlab.node.checkedbatches import CheckedBatches
from carbonlab.node.contract import ContractState, Verdict
from carbonlab.node.decision import Decision
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import aggregate, allowance_rows, queries
from carbonlab.node.ledger.errors import LedgerError, LedgerFileError, StoredValueError
from carbonlab.node.ledger.head import SignedHead
from carbonlab.node.ledger.readfile import LedgerConnection
from carbonlab.node.ledger.rejection import Rejection
from carbonlab.node.ledger.rows import (
    batch_row,
    decode_header,
    decode_signatures,
    reading_rows_of,
    verdict_of,
)
from carbonlab.node.ledger.sqlite import check_schema, connect, genesis_meters, prepare, transaction
from carbonlab.node.ledger.state import load_state, save_state
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.tables import FORMAT, READING_COLUMNS
from carbonlab.node.model import Batch
from carbonlab.node.query_names import MAX_ROWS
from carbonlab.node.sigcache import VerifiedSignatures

if TYPE_CHECKING:
    from carbonlab.node.gwp import GwpSet
    from carbonlab.node.query.filters import EmissionsFilter, Level, Period
    from carbonlab.node.query.rollup import QueryResult
    from carbonlab.node.query.structure import StructureResult

# by name: a file migrated by ALTER TABLE has its columns in another order than a new one
_INSERT_READING = (f"INSERT INTO readings ({', '.join(READING_COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(READING_COLUMNS))})")


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    header: BlockHeader
    proposal: Proposal
    certificate: CommitCertificate
    verdicts: tuple[Verdict, ...]
    # the requests as the contract decoded them (None where undecodable); only on the block
    # `commit` returns, so its caller need not decode every batch a second time
    batches: tuple[Batch | None, ...] = field(default=(), compare=False, repr=False)
    # what the allowance contract made of the block's record requests (on `commit`'s block)
    records: tuple[Outcome, ...] = field(default=(), compare=False, repr=False)

    @property
    def hash(self) -> bytes:
        return self.header.hash


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A stable checkpoint: 2f + 1 signatures over the hash of the block at `seq`."""

    seq: int
    block_hash: bytes
    signatures: tuple[tuple[str, bytes], ...]


@contextmanager
def _closed_on_failure(db: sqlite3.Connection, path: Path) -> Iterator[None]:
    """Opening a ledger: close `db` if it fails; what the file holds (unreadable pages, a
    value of the wrong type, bytes that do not decode) becomes a LedgerFileError naming it."""
    try:
        with file_errors(path, "not a usable ledger"):
            yield
    except BaseException:
        db.close()
        raise


@contextmanager
def file_errors(path: Path, what: str = "cannot read the ledger") -> Iterator[None]:
    """The ledger's one translation of what a damaged or hand-edited file makes the readers
    raise (an SQLite error, a value of the wrong type, stored bytes that do not decode) into
    a LedgerFileError naming the file; the caller's own LedgerErrors pass unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(path, f"{what} ({exc})") from None
    except (StoredValueError, SchemaError) as exc:
        raise LedgerFileError(path, f"{what}: {exc}; `carbonlab ledger verify` names what was "
                                    "altered") from None


class Ledger:
    """One node's copy of the chain. Block h (h >= 1) is the committed proposal for seq h."""

    def __init__(self, path: Path, genesis: Genesis, db: sqlite3.Connection) -> None:
        self.path = path
        self.genesis = genesis
        self._db = db
        # batch signatures this node verified (its API's pre-check), not verified again at commit
        self.signatures = VerifiedSignatures()
        # batches its API's pre-check decoded and found to pass every stateless check: the block
        # that holds them runs only the checks that read the ledger's state on them
        self.checked = CheckedBatches()
        genesis_meters(db, genesis)
        self._depth = 0     # nesting of `_readable`: only the outermost may reopen the file
        self._state = load_state(db)
        self._allowances = allowance_rows.replay_allowance_state(db, genesis)
        self._height, self._head_hash = self._head()

    @classmethod
    def open(cls, path: Path, genesis: Genesis) -> Ledger:
        """Open or create the ledger at `path`; refuse a file made for another genesis."""
        db = connect(Path(path))
        with _closed_on_failure(db, path):
            prepare(db, Path(path), genesis)
            return cls(Path(path), genesis, db)

    @classmethod
    def open_readonly(cls, path: Path, genesis: Genesis | None = None) -> Ledger:
        """Open an existing ledger for queries only (the CLI); without `genesis`, use the copy
        the ledger keeps (fine for reading, never for verifying: that needs a trusted genesis)."""
        db = connect(Path(path), readonly=True)
        with _closed_on_failure(db, path):
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT:
                raise LedgerError(f"{path}: not a carbonlab ledger of format {FORMAT.decode()}")
            check_schema(meta, path)
            if genesis is None:
                try:
                    genesis = Genesis.from_json(json.loads(meta["genesis_json"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise LedgerFileError(path, f"its copy of genesis is unreadable ({exc})") from None
            if meta.get("genesis_hash") != genesis.hash:
                raise LedgerError(f"{path}: made for another genesis than the one given")
            return cls(Path(path), genesis, db)

    @property
    def height(self) -> int:
        """Read from the file, so a second (query) Ledger on the same file sees new blocks."""
        with self._readable():
            return self._head()[0]

    @property
    def head_hash(self) -> bytes:
        with self._readable():
            return self._head()[1]

    def _head(self) -> tuple[int, bytes]:
        rows = select(self._db, "blocks", ("height", "hash"), order="height DESC", limit=1)
        if not rows:
            raise LedgerFileError(self.path, "no blocks, not even block 0 (the genesis record)")
        return rows[0]

    @property
    def state(self) -> ContractState:
        """The contract state after the head block, as stored (a fresh copy on every call)."""
        with self._readable():
            return load_state(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    # -- writing blocks -------------------------------------------------------------------

    def commit(self, proposal: Proposal, certificate: CommitCertificate,
               records: Sequence[bytes] = ()) -> CommittedBlock:
        """Execute and store the block for `proposal`; durable when it returns.

        `records` (consensus records that precede the block) go into the same transaction.

        The caller has checked the certificate's signatures (the replica does, and state
        transfer checks every certificate it fetches); this checks that it certifies
        this very proposal and that the proposal extends the chain.
        """
        if proposal.chain_id != self.genesis.chain_id:
            raise LedgerError(f"proposal.chain_id: {proposal.chain_id!r} is not this chain "
                              f"({self.genesis.chain_id!r})")
        if proposal.seq != self._height + 1:
            raise LedgerError(f"proposal.seq: {proposal.seq} does not extend the ledger at height "
                              f"{self._height} (expected {self._height + 1})")
        if certificate.seq != proposal.seq or certificate.digest != proposal.digest:
            raise LedgerError(f"certificate: certifies seq {certificate.seq} digest "
                              f"{certificate.digest.hex()[:16]}, not proposal seq {proposal.seq} "
                              f"digest {proposal.digest.hex()[:16]}")
        header = BlockHeader.for_proposal(proposal, self._head_hash)
        state = self._state.copy()
        allowances = self._allowances.copy()
        outcomes: list[Outcome] = []
        record_rows: list[tuple[Any, ...]] = []
        verdicts: list[Verdict] = []
        decoded: list[Batch | None] = []
        batch_rows: list[tuple[Any, ...]] = []
        reading_rows: list[tuple[Any, ...]] = []
        gateways: set[str] = set()
        meters: set[str] = set()
        for idx, request in enumerate(proposal.requests):
            if is_record(request):
                outcome = allowance_contract.evaluate_and_apply(self.genesis, allowances, request,
                                                                proposal.timestamp_ms)
                outcomes.append(outcome)
                record_rows.append(allowance_rows.record_row(proposal.seq, idx, outcome))
                verdict, batch = allowance_rows.RECORD_VERDICT, None
            else:
                verdict, batch = contract.evaluate_and_apply(self.genesis, state, request,
                                                             self.signatures, self.checked)
            verdicts.append(verdict)
            decoded.append(batch)
            batch_rows.append(batch_row(proposal.seq, idx, request, verdict))
            if batch is not None and verdict.accepted:
                gateways.add(batch.gateway_id)
                meters.update(r.meter_id for r in batch.readings)
                reading_rows.extend(reading_rows_of(proposal.seq, idx, batch, verdict))
        with self._transaction() as db:
            if self._head() != (self._height, self._head_hash):
                raise LedgerError(f"{self.path}: another writer changed the ledger since it was "
                                  "opened; one Ledger object per file may commit")
            if records:
                db.executemany("INSERT INTO consensus_records (record) VALUES (?)", [(r,) for r in records])
            db.execute("INSERT INTO blocks (height, hash, header, certificate, timestamp_ms, proposer,"
                       " batch_count, reading_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (header.height, header.hash, codec.encode(header.to_wire()),
                        codec.encode(certificate.to_wire()), header.timestamp_ms, header.proposer,
                        header.batch_count, len(reading_rows)))
            db.executemany("INSERT INTO batches (height, idx, request, gateway_id, batch_seq, accepted,"
                           " reason, detail, anomalies, field) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           batch_rows)
            db.executemany(_INSERT_READING, reading_rows)
            db.executemany(allowance_rows.INSERT, record_rows)
            db.executemany(aggregate.UPSERT, aggregate.day_rows(reading_rows))
            save_state(db, state, gateways, meters)
        self._state = state
        self._allowances = allowances
        self._height = header.height
        self._head_hash = header.hash
        return CommittedBlock(header, proposal, certificate, tuple(verdicts), tuple(decoded),
                              tuple(outcomes))

    # -- reading blocks -------------------------------------------------------------------

    def block(self, height: int) -> CommittedBlock | None:
        """The block at `height` (1..height); None for block 0 (the genesis record) or beyond."""
        blocks = self.blocks(height, height)
        return blocks[0] if blocks else None

    def blocks(self, lo: int, hi: int) -> list[CommittedBlock]:
        """Blocks lo..hi inclusive, clipped to 1..height."""
        with self._readable():
            return self._blocks(lo, hi)

    def _blocks(self, lo: int, hi: int) -> list[CommittedBlock]:
        lo, hi = max(lo, 1), min(hi, self._head()[0])
        if lo > hi:
            return []
        requests: dict[int, list[tuple[bytes, Verdict]]] = {h: [] for h in range(lo, hi + 1)}
        for height, request, *verdict in select(
                self._db, "batches", ("height", "request", "accepted", "reason", "detail",
                                      "gateway_id", "batch_seq", "anomalies", "field"),
                "height BETWEEN ? AND ?", (lo, hi), order="height, idx"):
            requests[height].append((request, verdict_of(*verdict)))
        out = []
        for height, header_bytes, cert_bytes in select(
                self._db, "blocks", ("height", "header", "certificate"), "height BETWEEN ? AND ?",
                (lo, hi), order="height"):
            header = decode_header(header_bytes, f"block {height} header")
            cert = CommitCertificate.from_wire(codec.decode(cert_bytes, f"block {height} certificate"))
            proposal = Proposal(header.chain_id, header.height, header.timestamp_ms, header.proposer,
                                tuple(r for r, _ in requests[height]))
            out.append(CommittedBlock(header, proposal, cert, tuple(v for _, v in requests[height])))
        return out

    def signed_head(self) -> SignedHead | None:
        """The head block's header and commit certificate; None before block 1."""
        with self._readable():
            rows = select(self._db, "blocks", ("height", "header", "certificate"),
                          order="height DESC", limit=1)
            if not rows or rows[0][0] == 0:
                return None
            height, header_bytes, cert_bytes = rows[0]
            header = decode_header(header_bytes, f"block {height} header")
            cert = CommitCertificate.from_wire(codec.decode(cert_bytes, f"block {height} certificate"))
            return SignedHead(self.genesis.chain_id, self.genesis.hash, header, cert)

    def block_hash(self, height: int) -> bytes | None:
        with self._readable():
            rows = select(self._db, "blocks", ("hash",), "height = ?", (height,))
            return rows[0][0] if rows else None

    # -- checkpoints and consensus records ------------------------------------------------

    def put_checkpoint(self, seq: int, block_hash: bytes,
                       signatures: Sequence[tuple[str, bytes]]) -> None:
        """Record a stable checkpoint (durable when it returns); older ones are dropped."""
        sigs = codec.encode([[m, s] for m, s in signatures])
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO checkpoints (seq, block_hash, signatures) "
                       "VALUES (?, ?, ?)", (seq, block_hash, sigs))
            db.execute("DELETE FROM checkpoints WHERE seq < ?", (seq,))

    def stable_checkpoint(self) -> Checkpoint | None:
        with self._readable():
            rows = select(self._db, "checkpoints", ("seq", "block_hash", "signatures"),
                          order="seq DESC", limit=1)
            if not rows:
                return None
            seq, block_hash, sigs = rows[0]
            return Checkpoint(seq, block_hash, decode_signatures(sigs, "checkpoint.signatures"))

    def save_consensus_record(self, record: bytes) -> int:
        """Append one replica record; durable when it returns. Returns its id (increasing)."""
        cur = self._db.execute("INSERT INTO consensus_records (record) VALUES (?)", (record,))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def save_consensus_records(self, records: Sequence[bytes]) -> None:
        """Append a run of replica records in one transaction (one fsync); durable when it returns."""
        with self._transaction() as db:
            db.executemany("INSERT INTO consensus_records (record) VALUES (?)", [(r,) for r in records])

    def set_sync(self, mode: Literal["full", "normal"]) -> None:
        """`full`: fsync at every commit (survives power loss); `normal`: survives a process crash."""
        self._db.execute(f"PRAGMA synchronous={'FULL' if mode == 'full' else 'NORMAL'}")

    def load_consensus_records(self) -> list[bytes]:
        """Every saved record, oldest first."""
        with self._readable():
            return [r for (r,) in select(self._db, "consensus_records", ("record",), order="id")]

    def replace_consensus_records(self, records: Sequence[bytes]) -> None:
        """Atomically replace all records (compaction after a stable checkpoint)."""
        with self._transaction() as db:
            db.execute("DELETE FROM consensus_records")
            db.executemany("INSERT INTO consensus_records (record) VALUES (?)", [(r,) for r in records])

    # -- queries for the HTTP API ---------------------------------------------------------

    def batch_status(self, gateway_id: str, batch_seq: int,
                     request: bytes | None = None) -> Decision | None:
        """What the ledger holds about a batch (committed or rejected), None if nothing."""
        with self._readable():
            return queries.batch_status(self._db, gateway_id, batch_seq, request)

    def readings(self, *, meter: str | None = None, plant: str | None = None,
                 unit: str | None = None, company: str | None = None, since: int | None = None,
                 until: int | None = None, max_height: int | None = None, limit: int = 100,
                 offset: int = 0) -> list[dict[str, Any]]:
        with self._readable():
            return queries.readings(self._db, meter=meter, plant=plant, unit=unit, company=company,
                                    since=since, until=until, max_height=max_height, limit=limit,
                                    offset=offset)

    def emissions(self, *, group_by: Literal["company", "plant", "unit", "stack", "meter"],
                  since: int | None = None, until: int | None = None) -> list[dict[str, Any]]:
        with self._readable():
            return queries.emissions(self._db, group_by=group_by, since=since, until=until)

    def rejections(self, *, gateway: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[Rejection]:
        with self._readable():
            return queries.rejections(self._db, gateway=gateway, limit=limit, offset=offset)

    def reading_positions(self, meters: Sequence[str], since: int, until: int,
                          upto: int) -> dict[int, dict[int, list[int]]]:
        """Where the meters' readings in [since, until) of blocks up to `upto` are: height ->
        batch index -> reading indices (what a report proves), through this read layer."""
        with self._readable():
            return queries.reading_positions(self._db, list(meters), since, until, upto)

    def reading_count(self) -> int:
        with self._readable():
            return int(self._db.execute("SELECT COUNT(*) FROM readings").fetchone()[0])

    def rejection_count(self) -> int:
        with self._readable():
            return int(self._db.execute("SELECT COUNT(*) FROM batches WHERE accepted = 0").fetchone()[0])

    def reading_proof(self, meter_id: str, seq: int) -> dict[str, Any] | None:
        from carbonlab.node.ledger.proof import build_proof

        with self._readable():
            return build_proof(self, self._db, meter_id, seq)



    # -- allowance records (node/allowances, ledger/allowance_rows.py) -----------------------

    @property
    def allowances(self) -> AllowanceState:
        """The allowance contract's state after the head block, as stored (a fresh copy)."""
        with self._readable():
            return allowance_rows.load_allowance_state(self._db)

    def record_status(self, record_id: str) -> RecordStatus | None:
        with self._readable():
            return allowance_rows.status(self._db, record_id)

    def allowance_balance(self, company: str, year: int) -> Balance:
        with self._readable():
            return allowance_rows.balance(self._db, company, year)

    def allowance_history(self, company: str, year: int | None = None,
                          kind: Kind | None = None) -> list[RecordEntry]:
        with self._readable():
            return allowance_rows.entries(self._db, company=company, year=year, kind=kind)

    def allowance_records(self, year: int | None = None, kind: Kind | None = None) -> list[RecordEntry]:
        with self._readable():
            return allowance_rows.entries(self._db, year=year, kind=kind)

    # -- the query and structure modules (carbonlab.node.query) ---------------------------

    def emissions_query(self, flt: EmissionsFilter, *, period: Period, level: Level,
                        proofs: bool = False, max_rows: int | None = MAX_ROWS) -> QueryResult:
        from carbonlab.node.query.prove import attach_proofs
        from carbonlab.node.query.rollup import query

        with self._readable(), self._snapshot():
            result = query(self._db, self.genesis, flt, period=period, level=level,
                           max_rows=max_rows)
            return attach_proofs(self, self._db, result) if proofs else result

    def emissions_structure(self, flt: EmissionsFilter, gwp: GwpSet) -> StructureResult:
        from carbonlab.node.query.structure import structure

        with self._readable():
            return structure(self._db, self.genesis, flt, gwp)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Every read inside sees the file as of one moment (a read transaction; in WAL mode a
        block committed meanwhile stays out of it), unless a transaction is already open."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            if self._db.in_transaction:     # an error inside may have ended it already
                self._db.execute("ROLLBACK")

    @contextmanager
    def _readable(self) -> Iterator[None]:
        """Every read goes through here. A read over a damaged or hand-edited file (a page
        overwritten, a table dropped, a value of the wrong type, stored bytes that do not
        decode) is a LedgerFileError naming the file (`file_errors`). A file read as immutable
        (`readfile`) that a writer opened since is opened again, through its WAL, before the
        read; one that changed during the read is an error, not a torn answer."""
        outermost = self._depth == 0
        db = self._db
        if outermost and isinstance(db, LedgerConnection) and db.changed():
            self._reopen()
        self._depth += 1
        try:
            with file_errors(self.path):
                yield
        finally:
            self._depth -= 1
        if outermost and isinstance(self._db, LedgerConnection) and self._db.changed():
            raise LedgerFileError(self.path, "a writer opened the file while it was read (it had "
                                             "no -wal when opened): read it again")

    def _reopen(self) -> None:
        with file_errors(self.path, "cannot open the ledger again"):
            db = connect(self.path, readonly=True)
            genesis_meters(db, self.genesis)
        self._db.close()
        self._db = db
