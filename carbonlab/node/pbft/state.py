"""The replica's state, one object per phase, each owning its own reset and garbage collection.

Theory of operation. A `Replica` holds the view, its height and its timers itself; what
each phase of the protocol remembers lives in one object per phase: `RequestState`
(requests.py), `AgreementState` (the normal case, normal.py), `CheckpointState`
(checkpoints.py), `ViewChangeState` (viewchange.py) and `TransferState` (transfer.py).
What a phase forgets when the replica leaves a view is its `reset()`; what it drops
below a stable checkpoint is its `collect_garbage(seq)`. So starting a view change or
making a checkpoint stable is a few calls, and a field added to a phase is reset or
collected where the phase's other fields are, not in a list kept in another module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.pbft.log import MessageLog
from carbonlab.node.pbft.messages import CheckpointProof, Kind, PreparedCertificate, ViewChange

RequestKey = tuple[str, int]
"""(gateway_id, batch_seq): a request's identity, whatever its bytes."""


@dataclass
class RequestState:
    """Client requests: waiting, queued for a proposal, proposed, executed."""

    queue: dict[bytes, None] = field(default_factory=dict)     # primary: not yet proposed, in order
    queue_since_ms: int | None = None
    pending: dict[bytes, int] = field(default_factory=dict)    # request -> first seen; until executed
    pending_keys: dict[RequestKey, bytes] = field(default_factory=dict)
    proposed: set[RequestKey] = field(default_factory=set)     # primary: proposed, not executed yet
    executed: dict[bytes, int] = field(default_factory=dict)   # sha256 of request -> seq (recent ones)
    batch_floor: dict[str, int] = field(default_factory=dict)  # contract's last batch_seq at restart
    deadline_ms: int | None = None                             # a backup's request timer
    broadcast: bool = False                    # first expiry broadcasts, the second suspects

    def reset(self) -> None:
        """Leaving a view: nothing stays queued for a primary and no request timer runs (the
        requests themselves stay pending for the next primary)."""
        self.queue.clear()
        self.queue_since_ms = None
        self.deadline_ms = None

    def collect_garbage(self, horizon: int) -> None:
        """Forget the executed requests at or below `horizon` (their dedupe memory)."""
        for digest in [d for d, s in self.executed.items() if s <= horizon]:
            del self.executed[digest]


@dataclass
class AgreementState:
    """The normal case: the message log of the current view, our signed votes, prepared
    certificates, and certified blocks waiting for their turn to execute."""

    log: MessageLog = field(default_factory=MessageLog)
    signed: dict[tuple[Kind, int, int], bytes] = field(default_factory=dict)  # (kind, v, n) -> digest
    prepared: dict[int, PreparedCertificate] = field(default_factory=dict)
    certified: dict[int, tuple[Proposal, CommitCertificate]] = field(default_factory=dict)
    next_seq: int = 1
    reproposals: set[bytes] = field(default_factory=set)  # digests the current NEW-VIEW re-proposes

    def reset(self) -> None:
        """Leaving a view: its slots are gone (prepared certificates and signed votes stay)."""
        self.log.clear()

    def collect_garbage(self, seq: int) -> None:
        """Drop slots, prepared certificates and signed votes at or below `seq`: below the low
        watermark nothing is signed or carried in a VIEW-CHANGE again."""
        self.log.collect_garbage(seq)
        for s in [s for s in self.prepared if s <= seq]:
            del self.prepared[s]
        for key in [k for k in self.signed if k[2] <= seq]:
            del self.signed[key]


@dataclass
class CheckpointState:
    """The stable checkpoint (the low watermark) and the checkpoints above it."""

    stable: CheckpointProof
    block_hashes: dict[int, bytes] = field(default_factory=dict)  # our block hash at checkpoint seqs
    votes: dict[int, dict[str, tuple[bytes, bytes]]] = field(default_factory=dict)  # member -> (hash, sig)
    mine: dict[int, bytes] = field(default_factory=dict)          # our CHECKPOINT envelopes

    def collect_garbage(self, seq: int) -> None:
        for table in (self.votes, self.block_hashes, self.mine):
            for s in [s for s in table if s <= seq]:
                del table[s]


@dataclass
class ViewChangeState:
    """VIEW-CHANGE votes, our own VIEW-CHANGE, the NEW-VIEW of our view, and the timer."""

    votes: dict[int, dict[str, tuple[ViewChange, bytes]]] = field(default_factory=dict)
    mine: bytes | None = None                  # our VIEW-CHANGE envelope while changing views
    new_view_envelope: bytes | None = None     # the NEW-VIEW of the view we are in
    deadline_ms: int | None = None
    attempts: int = 0                          # view changes since the last installed view
    helped: dict[str, int] = field(default_factory=dict)  # peer -> when we last sent it our NEW-VIEW

    def reset(self) -> None:
        """Leaving a view: its NEW-VIEW no longer helps anyone, and the timer starts anew."""
        self.new_view_envelope = None
        self.deadline_ms = None

    def installed(self, view: int, envelope: bytes) -> None:
        """View `view` is installed by `envelope`: the change is over; votes up to it are done."""
        self.new_view_envelope = envelope
        self.deadline_ms = None
        self.attempts = 0
        self.mine = None
        for v in [v for v in self.votes if v <= view]:
            del self.votes[v]


@dataclass
class FetchInFlight:
    peer: str
    from_seq: int
    to_seq: int
    deadline_ms: int


@dataclass
class TransferState:
    """State transfer: how far peers say they are, and the fetch we have out."""

    last_progress_ms: int
    peer_heights: dict[str, int] = field(default_factory=dict)
    # member -> (view, last_executed, now_ms) of the last STATUS it sent (node/peers.py reads it)
    peer_status: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    fetch: FetchInFlight | None = None
    rotation: int = 0                          # which of the peers ahead we ask next
