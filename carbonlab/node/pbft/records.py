"""What a replica persists, and how a restarted replica reads it back.

A replica must never sign two different digests for the same (view, seq), and must
still hold, after a crash, every prepared certificate and stable checkpoint a later
VIEW-CHANGE has to carry. So before it sends anything that commits it to a choice,
it emits `Persist(record)`; records are canonical arrays:

- `["view", v]`: the replica moved to view v (entered a view change or installed v).
- `["pre_prepare", v, proposal]`: as primary of v it proposed this (full proposal, so a
  restarted primary can resend it).
- `["prepare", v, seq, digest]`, `["commit", v, seq, digest]`: it signed that vote.
- `["prepared", certificate]`: a `PreparedCertificate` it holds (highest view per seq wins).
- `["checkpoint", proof]`: a stable `CheckpointProof`.
- `["new_view", envelope]`: the NEW-VIEW it sent or accepted for its current view.

Records at or below the stable checkpoint are obsolete: `compact(records)` keeps what a
restart still needs (a driver may store its result with `Ledger.replace_consensus_records`).
Executed blocks themselves are the ledger's business: `RecoveredState` carries the
ledger's height and head hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carbonlab.node import codec
from carbonlab.node.block import Proposal
from carbonlab.node.errors import SchemaError
from carbonlab.node.pbft.messages import CheckpointProof, Kind, PreparedCertificate
from carbonlab.node.schema import as_bytes, as_int, as_list, as_str


@dataclass
class RecoveredState:
    """What a restarted replica gets back: its records, and where its ledger stands."""

    records: list[bytes]
    last_executed: int
    last_block_hash: bytes
    last_batch_seq: dict[str, int] = field(default_factory=dict)  # ContractState.last_batch_seq


@dataclass
class Memory:
    """The parsed records."""

    view: int = 0
    signed: dict[tuple[Kind, int, int], bytes] = field(default_factory=dict)
    pre_prepares: dict[tuple[int, int], Proposal] = field(default_factory=dict)
    prepared: dict[int, PreparedCertificate] = field(default_factory=dict)
    stable: CheckpointProof | None = None
    new_views: dict[int, bytes] = field(default_factory=dict)


def view_record(view: int) -> bytes:
    return codec.encode(["view", view])


def pre_prepare_record(view: int, proposal: Proposal) -> bytes:
    return codec.encode(["pre_prepare", view, proposal.to_wire()])


VOTE_TAGS = {Kind.PREPARE: "prepare", Kind.COMMIT: "commit"}
_VOTE_KINDS = {tag: kind for kind, tag in VOTE_TAGS.items()}


def vote_record(kind: Kind, view: int, seq: int, digest: bytes) -> bytes:
    """A PREPARE or COMMIT we signed (a PRE-PREPARE is a `pre_prepare_record`)."""
    return codec.encode([VOTE_TAGS[kind], view, seq, digest])


def prepared_record(cert: PreparedCertificate) -> bytes:
    return codec.encode(["prepared", cert.to_wire()])


def checkpoint_record(proof: CheckpointProof) -> bytes:
    return codec.encode(["checkpoint", proof.to_wire()])


def new_view_record(envelope: bytes) -> bytes:
    return codec.encode(["new_view", envelope])


def load(records: list[bytes]) -> Memory:
    """Parse records in order; raises `SchemaError` naming the record that is unreadable."""
    mem = Memory()
    for i, raw in enumerate(records):
        path = f"consensus_record[{i}]"
        try:
            _load_one(mem, raw, path)
        except (IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(path, f"unreadable record ({exc})") from None
    return mem


def _load_one(mem: Memory, raw: bytes, path: str) -> None:
    value: Any = codec.decode(raw, path, max_bytes=1 << 30)
    items = as_list(value, path)
    if not items:
        raise SchemaError(path, "empty record")
    tag = as_str(items[0], f"{path}[0]")
    if tag == "view":
        mem.view = max(mem.view, as_int(items[1], f"{path}.view", lo=0))
    elif tag == "pre_prepare":
        view = as_int(items[1], f"{path}.view", lo=0)
        proposal = Proposal.from_wire(items[2], f"{path}.proposal")
        mem.pre_prepares[(view, proposal.seq)] = proposal
        mem.signed[(Kind.PRE_PREPARE, view, proposal.seq)] = proposal.digest
    elif tag in _VOTE_KINDS:
        view = as_int(items[1], f"{path}.view", lo=0)
        seq = as_int(items[2], f"{path}.seq", lo=0)
        mem.signed[(_VOTE_KINDS[tag], view, seq)] = as_bytes(items[3], f"{path}.digest", size=32)
    elif tag == "prepared":
        cert = PreparedCertificate.from_wire(items[1], f"{path}.certificate")
        old = mem.prepared.get(cert.seq)
        if old is None or old.view <= cert.view:
            mem.prepared[cert.seq] = cert
    elif tag == "checkpoint":
        proof = CheckpointProof.from_wire(items[1], f"{path}.proof")
        if mem.stable is None or proof.seq > mem.stable.seq:
            mem.stable = proof
    elif tag == "new_view":
        envelope = as_bytes(items[1], f"{path}.envelope", max_len=1 << 30)
        nv = codec.decode(envelope, f"{path}.envelope", max_bytes=1 << 30)
        view = as_int(as_list(as_list(nv, path, length=4)[2], path)[0], f"{path}.view", lo=0)
        mem.new_views[view] = envelope
    else:
        raise SchemaError(f"{path}[0]", f"unknown record tag {tag!r}")


def compact(records: list[bytes]) -> list[bytes]:
    """The records a restart still needs: the latest view, stable checkpoint and NEW-VIEW, and the
    votes, proposals and prepared certificates above the stable checkpoint (same order)."""
    mem = load(records)
    stable = mem.stable.seq if mem.stable is not None else 0
    latest_nv = max(mem.new_views, default=None)
    out: list[bytes] = []
    for raw in records:
        value: Any = codec.decode(raw, "consensus_record", max_bytes=1 << 30)
        tag = value[0]
        if tag == "view":
            keep = value[1] == mem.view
        elif tag == "checkpoint":
            keep = mem.stable is not None and value[1][0] == stable
        elif tag == "new_view":
            keep = latest_nv is not None and raw == mem.new_views[latest_nv]
        elif tag == "pre_prepare":
            keep = value[2][1] > stable
        elif tag == "prepared":
            keep = value[1][1][1] > stable
        else:
            keep = value[2] > stable
        if keep and raw not in out[-1:]:
            out.append(raw)
    return out
