"""The properties every simulator run must keep; each violation is recorded with what broke.

- agreement: one block hash per height among honest replicas;
- validity: only batches the gateways made valid are accepted by the contract;
- exactly-once: no batch accepted twice, blocks executed once each and in order;
- certificates: every executed block carries 2f + 1 valid commit signatures for it;
- liveness (checked at the end): with the network healed and at most f faulty, every
  valid batch submitted is committed at every honest replica.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.contract import Verdict
from carbonlab.node.genesis import Genesis
from carbonlab.node.pbft.certificates import check_commit
from carbonlab.node.pbft.envelope import SignatureCache


@dataclass
class Checker:
    genesis: Genesis
    valid: set[bytes]
    violations: list[str] = field(default_factory=list)
    hashes: dict[int, tuple[bytes, str]] = field(default_factory=dict)
    accepted: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    signatures: SignatureCache = field(init=False)

    def __post_init__(self) -> None:
        # Its own cache, independent of the replicas': each signature is checked once here.
        self.signatures = SignatureCache(self.genesis.member_keys)

    def fail(self, what: str) -> None:
        if len(self.violations) < 50:
            self.violations.append(what)

    def executed(self, member: str, honest: bool, height_before: int, proposal: Proposal,
                 certificate: CommitCertificate, block_hash: bytes,
                 verdicts: list[Verdict], requests: tuple[bytes, ...]) -> None:
        if not honest:
            return
        if proposal.seq != height_before + 1:
            self.fail(f"exactly-once: {member} executed seq {proposal.seq} at height {height_before}")
            return
        problem = check_commit(self.genesis, self.signatures, proposal, certificate)
        if problem is not None:
            self.fail(f"certificates: {member} executed seq {proposal.seq} with a bad "
                      f"certificate ({problem})")
        first = self.hashes.setdefault(proposal.seq, (block_hash, member))
        if first[0] != block_hash:
            self.fail(f"agreement: height {proposal.seq}: {member} has {block_hash.hex()[:12]}, "
                      f"{first[1]} has {first[0].hex()[:12]}")
        seen = self.accepted.setdefault(member, set())
        for verdict, request in zip(verdicts, requests, strict=True):
            if not verdict.accepted:
                continue
            if request not in self.valid:
                self.fail(f"validity: {member} accepted an invalid batch "
                          f"{verdict.gateway_id}/{verdict.batch_seq} at height {proposal.seq}")
            key = (verdict.gateway_id or "", verdict.batch_seq or 0)
            if key in seen:
                self.fail(f"exactly-once: {member} accepted {key[0]}/{key[1]} twice")
            seen.add(key)
