"""What a replica asks its driver to do. Every `Replica` call returns a list of these.

Driver rule: for the list returned by one call, apply every `Persist`, `Execute` and
`StableCheckpoint` durably, in list order, BEFORE sending any `Send` of that list.
`Execute` actions come strictly in sequence order, once per sequence number (a restarted replica continues at
`RecoveredState.last_executed + 1`).
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.pbft.messages import CheckpointProof


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver `data` (a signed envelope) to member `to`, or to every other member when None."""

    to: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Persist:
    """Append `record` to the replica's durable consensus log (see `records.py`)."""

    record: bytes


@dataclass(frozen=True, slots=True)
class Execute:
    """Commit this block to the ledger (`Ledger.commit(proposal, certificate)`)."""

    proposal: Proposal
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class StableCheckpoint:
    """`proof` made a checkpoint stable (its `Persist` record comes just before this action).

    Store it with the ledger's blocks (`Ledger.put_checkpoint`) once the block at
    `proof.seq` is committed and its hash matches; durable like `Persist`."""

    proof: CheckpointProof


@dataclass(frozen=True, slots=True)
class ServeBlocks:
    """Peer `to` asked for blocks `from_seq..to_seq` (inclusive, all at or below our height).

    Read them from the ledger and send `replica.blocks_reply(to, blocks)`."""

    to: str
    from_seq: int
    to_seq: int


@dataclass(frozen=True, slots=True)
class ViewChanged:
    """A new view is installed (for logs and the `carbonlab_view_changes_total` metric)."""

    view: int
    primary: str


@dataclass(frozen=True, slots=True)
class StateTransfer:
    """The replica is fetching certified blocks from `peer` (for logs and metrics)."""

    peer: str
    from_seq: int
    to_seq: int


Action = Send | Persist | Execute | StableCheckpoint | ServeBlocks | ViewChanged | StateTransfer
