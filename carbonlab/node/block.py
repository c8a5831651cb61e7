"""Proposals, blocks and commit certificates: the shapes PBFT orders and the ledger keeps.

Theory of operation. PBFT agrees on a *proposal* for each sequence number: the
primary's timestamp and the requests (canonical batch bytes) it chose. Its digest
covers the chain id, the sequence number, the proposer, the time and the Merkle
root over the requests; commit votes sign that digest (`commit_vote_bytes`), and
2f + 1 of them form the `CommitCertificate`.

The ledger's block at height h is the committed proposal for sequence h plus the
hash of block h - 1. The link is not part of what PBFT signs because a proposal
re-proposed after a view change must keep its digest while the block before it may
only be settled in the new view; every honest node derives the same link, and the
checkpoint certificate (2f + 1 signatures every K blocks) signs the block hash
itself. So: a certificate proves the block's content, the hash chain proves the
order, and a checkpoint proves the chain head. View is not part of the block: two
honest nodes may commit the same proposal in different views and must still agree
on the block hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carbonlab.node import codec, merkle
from carbonlab.node.crypto import SIGNATURE_BYTES, verify
from carbonlab.node.schema import as_bytes, as_int, as_list, as_str
from carbonlab.node.sigcache import VerifiedSignatures

PROPOSAL_TAG = "carbonlab/proposal/1"
BLOCK_TAG = "carbonlab/block/1"
COMMIT_TAG = "carbonlab/commit/1"
CHECKPOINT_TAG = "carbonlab/checkpoint/1"
HASH_BYTES = 32


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the primary proposes for one sequence number. Requests are canonical batch bytes."""

    chain_id: str
    seq: int
    timestamp_ms: int
    proposer: str
    requests: tuple[bytes, ...]
    _digest: list[bytes] = field(default_factory=list, compare=False, repr=False)

    @property
    def requests_root(self) -> bytes:
        return merkle.root(self.requests)

    @property
    def digest(self) -> bytes:
        if not self._digest:
            self._digest.append(codec.digest([
                PROPOSAL_TAG, self.chain_id, self.seq, self.timestamp_ms, self.proposer,
                len(self.requests), self.requests_root,
            ]))
        return self._digest[0]

    def to_wire(self) -> list[Any]:
        return [self.chain_id, self.seq, self.timestamp_ms, self.proposer, list(self.requests)]

    @classmethod
    def from_wire(cls, value: Any, path: str = "proposal", max_requests: int = 10_000) -> Proposal:
        items = as_list(value, path, length=5)
        requests = as_list(items[4], f"{path}.requests", max_len=max_requests)
        return cls(
            chain_id=as_str(items[0], f"{path}.chain_id", max_len=64),
            seq=as_int(items[1], f"{path}.seq", lo=0, hi=2**62),
            timestamp_ms=as_int(items[2], f"{path}.timestamp_ms", lo=0, hi=2**50),
            proposer=as_str(items[3], f"{path}.proposer", max_len=64),
            requests=tuple(as_bytes(r, f"{path}.requests[{i}]") for i, r in enumerate(requests)),
        )


def commit_vote_bytes(chain_id: str, view: int, seq: int, digest: bytes) -> bytes:
    """What a replica's COMMIT signs; a certificate holds 2f + 1 such signatures."""
    return codec.encode([COMMIT_TAG, chain_id, view, seq, digest])


def checkpoint_vote_bytes(chain_id: str, seq: int, block_hash: bytes) -> bytes:
    """What a replica's CHECKPOINT signs: the hash of the block at `seq`."""
    return codec.encode([CHECKPOINT_TAG, chain_id, seq, block_hash])


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """2f + 1 members' signatures over one (view, seq, proposal digest)."""

    view: int
    seq: int
    digest: bytes
    signatures: tuple[tuple[str, bytes], ...]

    def check(self, chain_id: str, member_keys: dict[str, bytes], quorum: int,
              signatures: VerifiedSignatures | None = None) -> str | None:
        """None when valid; otherwise what is wrong with it. With `signatures`, a signature
        this party already verified is not verified again."""
        message = commit_vote_bytes(chain_id, self.view, self.seq, self.digest)
        check_signature = verify if signatures is None else signatures.verify
        signers: set[str] = set()
        for member, sig in self.signatures:
            key = member_keys.get(member)
            if key is None:
                return f"signature by {member!r}, who is not a member"
            if member in signers:
                return f"two signatures by {member!r}"
            if not check_signature(key, sig, message):
                return f"bad signature by {member!r}"
            signers.add(member)
        if len(signers) < quorum:
            return f"{len(signers)} signatures, {quorum} needed"
        return None

    def mismatch(self, seq: int, digest: bytes, whose: str = "this block's") -> str | None:
        """None when this certifies (`seq`, `digest`); otherwise what differs, and only that,
        with digests shown long enough to differ."""
        wrong = []
        if self.seq != seq:
            wrong.append(f"seq {self.seq}, not {whose} height {seq}")
        if self.digest != digest:
            at = next(i for i, (a, b) in enumerate(zip(self.digest.hex(), digest.hex(), strict=True))
                      if a != b)
            shown = max(16, at + 4)
            wrong.append(f"proposal digest {self.digest.hex()[:shown]}, not {whose} "
                         f"{digest.hex()[:shown]}")
        return None if not wrong else "the certificate is for " + " and ".join(wrong)

    def to_wire(self) -> list[Any]:
        return [self.view, self.seq, self.digest, [[m, s] for m, s in self.signatures]]

    @classmethod
    def from_wire(cls, value: Any, path: str = "certificate") -> CommitCertificate:
        items = as_list(value, path, length=4)
        sigs = []
        for i, pair in enumerate(as_list(items[3], f"{path}.signatures", max_len=1000)):
            member, sig = as_list(pair, f"{path}.signatures[{i}]", length=2)
            sigs.append((as_str(member, f"{path}.signatures[{i}][0]", max_len=64),
                         as_bytes(sig, f"{path}.signatures[{i}][1]", size=SIGNATURE_BYTES)))
        return cls(
            view=as_int(items[0], f"{path}.view", lo=0),
            seq=as_int(items[1], f"{path}.seq", lo=0),
            digest=as_bytes(items[2], f"{path}.digest", size=HASH_BYTES),
            signatures=tuple(sigs),
        )


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain_id: str
    height: int
    prev_hash: bytes
    proposal_digest: bytes
    timestamp_ms: int
    proposer: str
    batch_count: int
    batches_root: bytes

    @property
    def hash(self) -> bytes:
        return codec.digest([BLOCK_TAG, *self.to_wire()])

    def to_wire(self) -> list[Any]:
        return [self.chain_id, self.height, self.prev_hash, self.proposal_digest,
                self.timestamp_ms, self.proposer, self.batch_count, self.batches_root]

    @classmethod
    def for_proposal(cls, proposal: Proposal, prev_hash: bytes) -> BlockHeader:
        return cls(proposal.chain_id, proposal.seq, prev_hash, proposal.digest,
                   proposal.timestamp_ms, proposal.proposer, len(proposal.requests),
                   proposal.requests_root)

    def proposal_digest_matches(self) -> bool:
        """The header's own fields reproduce its proposal digest (so the certificate covers them)."""
        expected = codec.digest([PROPOSAL_TAG, self.chain_id, self.height, self.timestamp_ms,
                                 self.proposer, self.batch_count, self.batches_root])
        return expected == self.proposal_digest
