"""PBFT wire messages: typed bodies, signed envelopes, and one decoder that never trusts input.

Theory of operation. Every message travels as an envelope `[sender, kind, body,
signature]` in the canonical codec. What the signature covers depends on the kind:
PRE-PREPARE, PREPARE, COMMIT and CHECKPOINT sign a *vote* (chain, view, seq, digest
or block hash) rather than the envelope, so the same signatures can be lifted out
of the envelope and re-checked elsewhere: 2f + 1 COMMIT signatures are the block's
`CommitCertificate`, 2f + 1 CHECKPOINT signatures prove a stable checkpoint, and a
PRE-PREPARE signature plus 2f PREPARE signatures prove a prepared certificate inside
a VIEW-CHANGE. Every other kind signs the whole envelope content. Because a vote's
bytes are fully determined by the body, a signature still authenticates the sender.

Decoding is table-driven: each kind has a body class with `from_wire` (schema checks,
every failure a `SchemaError` naming the field) and `to_wire`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from carbonlab.node import codec
from carbonlab.node.block import (
    HASH_BYTES,
    CommitCertificate,
    Proposal,
    checkpoint_vote_bytes,
    commit_vote_bytes,
)
from carbonlab.node.crypto import SIGNATURE_BYTES
from carbonlab.node.schema import as_bytes, as_int, as_list, as_str

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
MAX_SEQ = 2**62
PRE_PREPARE_TAG = "carbonlab/pre-prepare/1"
PREPARE_TAG = "carbonlab/prepare/1"
MESSAGE_TAG = "carbonlab/pbft-message/1"


class Kind(IntEnum):
    REQUEST = 1
    PRE_PREPARE = 2
    PREPARE = 3
    COMMIT = 4
    CHECKPOINT = 5
    VIEW_CHANGE = 6
    NEW_VIEW = 7
    STATUS = 8
    FETCH = 9
    BLOCKS = 10


def pre_prepare_vote_bytes(chain_id: str, view: int, seq: int, digest: bytes) -> bytes:
    return codec.encode([PRE_PREPARE_TAG, chain_id, view, seq, digest])


def prepare_vote_bytes(chain_id: str, view: int, seq: int, digest: bytes) -> bytes:
    return codec.encode([PREPARE_TAG, chain_id, view, seq, digest])


def _view(v: Any, path: str) -> int:
    return as_int(v, path, lo=0, hi=MAX_SEQ)


def _sigs(value: Any, path: str, max_len: int = 1000) -> tuple[tuple[str, bytes], ...]:
    out = []
    for i, pair in enumerate(as_list(value, path, max_len=max_len)):
        member, sig = as_list(pair, f"{path}[{i}]", length=2)
        out.append((as_str(member, f"{path}[{i}][0]", max_len=64),
                    as_bytes(sig, f"{path}[{i}][1]", size=SIGNATURE_BYTES)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Request:
    KIND: ClassVar[Kind] = Kind.REQUEST
    data: bytes

    def to_wire(self) -> list[Any]:
        return [self.data]

    @classmethod
    def from_wire(cls, v: Any) -> Request:
        (data,) = as_list(v, "request", length=1)
        return cls(as_bytes(data, "request.data", max_len=MAX_ENVELOPE_BYTES))


@dataclass(frozen=True, slots=True)
class PrePrepare:
    KIND: ClassVar[Kind] = Kind.PRE_PREPARE
    view: int
    proposal: Proposal

    @property
    def seq(self) -> int:
        return self.proposal.seq

    def to_wire(self) -> list[Any]:
        return [self.view, self.proposal.to_wire()]

    @classmethod
    def from_wire(cls, v: Any) -> PrePrepare:
        view, proposal = as_list(v, "pre_prepare", length=2)
        return cls(_view(view, "pre_prepare.view"),
                   Proposal.from_wire(proposal, "pre_prepare.proposal"))

    def vote_bytes(self, chain_id: str) -> bytes:
        return pre_prepare_vote_bytes(chain_id, self.view, self.proposal.seq, self.proposal.digest)


@dataclass(frozen=True, slots=True)
class Prepare:
    KIND: ClassVar[Kind] = Kind.PREPARE
    view: int
    seq: int
    digest: bytes

    def to_wire(self) -> list[Any]:
        return [self.view, self.seq, self.digest]

    @classmethod
    def from_wire(cls, v: Any) -> Prepare:
        view, seq, digest = as_list(v, "vote", length=3)
        return cls(_view(view, "vote.view"), as_int(seq, "vote.seq", lo=1, hi=MAX_SEQ),
                   as_bytes(digest, "vote.digest", size=HASH_BYTES))

    def vote_bytes(self, chain_id: str) -> bytes:
        return prepare_vote_bytes(chain_id, self.view, self.seq, self.digest)


@dataclass(frozen=True, slots=True)
class Commit(Prepare):
    KIND: ClassVar[Kind] = Kind.COMMIT

    @classmethod
    def from_wire(cls, v: Any) -> Commit:
        p = Prepare.from_wire(v)
        return cls(p.view, p.seq, p.digest)

    def vote_bytes(self, chain_id: str) -> bytes:
        return commit_vote_bytes(chain_id, self.view, self.seq, self.digest)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    KIND: ClassVar[Kind] = Kind.CHECKPOINT
    seq: int
    block_hash: bytes

    def to_wire(self) -> list[Any]:
        return [self.seq, self.block_hash]

    @classmethod
    def from_wire(cls, v: Any) -> Checkpoint:
        seq, block_hash = as_list(v, "checkpoint", length=2)
        return cls(as_int(seq, "checkpoint.seq", lo=1, hi=MAX_SEQ),
                   as_bytes(block_hash, "checkpoint.block_hash", size=HASH_BYTES))

    def vote_bytes(self, chain_id: str) -> bytes:
        return checkpoint_vote_bytes(chain_id, self.seq, self.block_hash)


@dataclass(frozen=True, slots=True)
class CheckpointProof:
    """A stable checkpoint: 2f + 1 signatures over (seq, block hash); seq 0 is genesis, unsigned."""

    seq: int
    block_hash: bytes
    signatures: tuple[tuple[str, bytes], ...]

    def to_wire(self) -> list[Any]:
        return [self.seq, self.block_hash, [[m, s] for m, s in self.signatures]]

    @classmethod
    def from_wire(cls, v: Any, path: str = "checkpoint_proof") -> CheckpointProof:
        seq, block_hash, sigs = as_list(v, path, length=3)
        return cls(as_int(seq, f"{path}.seq", lo=0, hi=MAX_SEQ),
                   as_bytes(block_hash, f"{path}.block_hash", size=HASH_BYTES),
                   _sigs(sigs, f"{path}.signatures"))


@dataclass(frozen=True, slots=True)
class PreparedCertificate:
    """Proof that `proposal` prepared in `view`: the primary's PRE-PREPARE signature and 2f PREPAREs."""

    view: int
    proposal: Proposal
    pre_prepare_sig: bytes
    prepares: tuple[tuple[str, bytes], ...]

    @property
    def seq(self) -> int:
        return self.proposal.seq

    def to_wire(self) -> list[Any]:
        return [self.view, self.proposal.to_wire(), self.pre_prepare_sig,
                [[m, s] for m, s in self.prepares]]

    @classmethod
    def from_wire(cls, v: Any, path: str = "prepared") -> PreparedCertificate:
        view, proposal, pp_sig, prepares = as_list(v, path, length=4)
        return cls(_view(view, f"{path}.view"), Proposal.from_wire(proposal, f"{path}.proposal"),
                   as_bytes(pp_sig, f"{path}.pre_prepare_sig", size=SIGNATURE_BYTES),
                   _sigs(prepares, f"{path}.prepares"))


@dataclass(frozen=True, slots=True)
class ViewChange:
    KIND: ClassVar[Kind] = Kind.VIEW_CHANGE
    new_view: int
    stable: CheckpointProof
    prepared: tuple[PreparedCertificate, ...]

    def to_wire(self) -> list[Any]:
        return [self.new_view, self.stable.to_wire(), [p.to_wire() for p in self.prepared]]

    @classmethod
    def from_wire(cls, v: Any) -> ViewChange:
        new_view, stable, prepared = as_list(v, "view_change", length=3)
        certs = as_list(prepared, "view_change.prepared", max_len=100_000)
        return cls(_view(new_view, "view_change.new_view"),
                   CheckpointProof.from_wire(stable, "view_change.stable"),
                   tuple(PreparedCertificate.from_wire(c, f"view_change.prepared[{i}]")
                         for i, c in enumerate(certs)))


@dataclass(frozen=True, slots=True)
class NewView:
    """The new primary's proof (2f + 1 raw VIEW-CHANGE envelopes) and its set O of pre-prepares."""

    KIND: ClassVar[Kind] = Kind.NEW_VIEW
    view: int
    view_changes: tuple[bytes, ...]
    pre_prepares: tuple[tuple[Proposal, bytes], ...]   # (proposal, PRE-PREPARE signature)

    def to_wire(self) -> list[Any]:
        return [self.view, list(self.view_changes),
                [[p.to_wire(), s] for p, s in self.pre_prepares]]

    @classmethod
    def from_wire(cls, v: Any) -> NewView:
        view, vcs, pps = as_list(v, "new_view", length=3)
        out = []
        for i, item in enumerate(as_list(pps, "new_view.pre_prepares", max_len=100_000)):
            proposal, sig = as_list(item, f"new_view.pre_prepares[{i}]", length=2)
            out.append((Proposal.from_wire(proposal, f"new_view.pre_prepares[{i}].proposal"),
                        as_bytes(sig, f"new_view.pre_prepares[{i}].sig", size=SIGNATURE_BYTES)))
        return cls(_view(view, "new_view.view"),
                   tuple(as_bytes(e, f"new_view.view_changes[{i}]", max_len=MAX_ENVELOPE_BYTES)
                         for i, e in enumerate(as_list(vcs, "new_view.view_changes", max_len=1000))),
                   tuple(out))


@dataclass(frozen=True, slots=True)
class Status:
    """Periodic gossip: lets a lagging or restarted peer learn it is behind in view or in blocks."""

    KIND: ClassVar[Kind] = Kind.STATUS
    view: int
    last_executed: int

    def to_wire(self) -> list[Any]:
        return [self.view, self.last_executed]

    @classmethod
    def from_wire(cls, v: Any) -> Status:
        view, last = as_list(v, "status", length=2)
        return cls(_view(view, "status.view"), as_int(last, "status.last_executed", lo=0, hi=MAX_SEQ))


@dataclass(frozen=True, slots=True)
class Fetch:
    KIND: ClassVar[Kind] = Kind.FETCH
    from_seq: int
    to_seq: int

    def to_wire(self) -> list[Any]:
        return [self.from_seq, self.to_seq]

    @classmethod
    def from_wire(cls, v: Any) -> Fetch:
        lo, hi = as_list(v, "fetch", length=2)
        return cls(as_int(lo, "fetch.from_seq", lo=1, hi=MAX_SEQ),
                   as_int(hi, "fetch.to_seq", lo=1, hi=MAX_SEQ))


@dataclass(frozen=True, slots=True)
class Blocks:
    KIND: ClassVar[Kind] = Kind.BLOCKS
    blocks: tuple[tuple[Proposal, CommitCertificate], ...]

    def to_wire(self) -> list[Any]:
        return [[[p.to_wire(), c.to_wire()] for p, c in self.blocks]]

    @classmethod
    def from_wire(cls, v: Any) -> Blocks:
        (items,) = as_list(v, "blocks", length=1)
        out = []
        for i, item in enumerate(as_list(items, "blocks.blocks", max_len=1000)):
            proposal, cert = as_list(item, f"blocks[{i}]", length=2)
            out.append((Proposal.from_wire(proposal, f"blocks[{i}].proposal"),
                        CommitCertificate.from_wire(cert, f"blocks[{i}].certificate")))
        return cls(tuple(out))


Body = (Request | PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView | Status
        | Fetch | Blocks)
BODY_CLASSES: dict[Kind, Any] = {c.KIND: c for c in (
    Request, PrePrepare, Prepare, Commit, Checkpoint, ViewChange, NewView, Status, Fetch, Blocks)}


def signed_bytes(chain_id: str, sender: str, body: Body) -> bytes:
    """The bytes a sender's signature covers for `body` (a vote for the four vote kinds)."""
    if isinstance(body, PrePrepare | Prepare | Checkpoint):  # Commit is a Prepare subclass
        return body.vote_bytes(chain_id)
    return codec.encode([MESSAGE_TAG, chain_id, sender, int(body.KIND), body.to_wire()])
