"""The message log: one slot per sequence number inside the watermarks, for the current view.

A slot gathers the PRE-PREPARE and the PREPARE/COMMIT votes for one (view, seq). Votes
are keyed by member and the first vote of a member wins: a member that votes twice for
different digests is dropped as `conflicting_vote`, so a Byzantine sender can neither
grow the log nor count twice. `prepared` and `committed` follow the paper's predicates;
a slot that is committed holds the 2f + 1 signatures of its `CommitCertificate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.pbft.messages import Kind, PreparedCertificate


@dataclass
class Slot:
    view: int
    seq: int
    proposal: Proposal | None = None
    pre_prepare_sig: bytes = b""
    prepares: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # member -> (digest, sig)
    commits: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    sent: dict[Kind, bytes] = field(default_factory=dict)  # our envelope of each kind, for resending
    moved_ms: int = 0          # when the slot last made progress (or was last resent)
    prepared: bool = False
    committed: bool = False
    certificate: CommitCertificate | None = None

    @property
    def digest(self) -> bytes | None:
        return None if self.proposal is None else self.proposal.digest

    def votes(self, which: dict[str, tuple[bytes, bytes]], digest: bytes,
              exclude: str = "") -> list[tuple[str, bytes]]:
        return sorted((m, s) for m, (d, s) in which.items() if d == digest and m != exclude)

    def check_prepared(self, primary: str, f: int) -> PreparedCertificate | None:
        """The paper's prepared(m, v, n, i): the pre-prepare plus 2f matching PREPAREs from backups."""
        if self.prepared or self.proposal is None:
            return None
        prepares = self.votes(self.prepares, self.proposal.digest, exclude=primary)
        if len(prepares) < 2 * f:
            return None
        self.prepared = True
        return PreparedCertificate(self.view, self.proposal, self.pre_prepare_sig,
                                   tuple(prepares[: 2 * f]))

    def check_committed(self, f: int) -> CommitCertificate | None:
        """committed-local: 2f + 1 matching COMMITs for the proposal we hold.

        The paper also asks for prepared(); 2f + 1 COMMITs already imply that f + 1 honest
        replicas prepared, so a replica that missed PREPAREs (restart, drops) may still commit."""
        if self.committed or self.proposal is None:
            return None
        commits = self.votes(self.commits, self.proposal.digest)
        if len(commits) < 2 * f + 1:
            return None
        self.committed = True
        self.certificate = CommitCertificate(self.view, self.seq, self.proposal.digest,
                                             tuple(commits[: 2 * f + 1]))
        return self.certificate


class MessageLog:
    """Slots by sequence number; `collect_garbage` drops everything at or below a stable checkpoint."""

    def __init__(self) -> None:
        self.slots: dict[int, Slot] = {}

    def get(self, view: int, seq: int) -> Slot:
        slot = self.slots.get(seq)
        if slot is None or slot.view != view:
            slot = self.slots[seq] = Slot(view, seq)
        return slot

    def collect_garbage(self, stable_seq: int) -> None:
        for seq in [s for s in self.slots if s <= stable_seq]:
            del self.slots[seq]

    def clear(self) -> None:
        self.slots.clear()
