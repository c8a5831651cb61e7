"""Checking the proofs replicas hand each other: stable checkpoints, prepared and commit certificates.

Each check returns None when the proof holds and otherwise a short reason (the
`dropped` counter name). Signatures go through the replica's `SignatureCache`.
"""

from __future__ import annotations

from carbonlab.node.block import CommitCertificate, Proposal, checkpoint_vote_bytes, commit_vote_bytes
from carbonlab.node.genesis import Genesis
from carbonlab.node.pbft.envelope import SignatureCache
from carbonlab.node.pbft.messages import (
    CheckpointProof,
    PreparedCertificate,
    pre_prepare_vote_bytes,
    prepare_vote_bytes,
)


def _quorum_of(cache: SignatureCache, sigs: tuple[tuple[str, bytes], ...], data: bytes,
               need: int, exclude: str = "") -> str | None:
    seen: set[str] = set()
    for member, sig in sigs:
        if member in seen or member == exclude:
            return "duplicate_signer"
        if not cache.check(member, sig, data):
            return "bad_certificate_signature"
        seen.add(member)
    return None if len(seen) >= need else "short_certificate"


def check_checkpoint_proof(genesis: Genesis, cache: SignatureCache, proof: CheckpointProof) -> str | None:
    if proof.seq == 0:
        return None if proof.block_hash == genesis.hash else "bad_genesis_checkpoint"
    if proof.seq % genesis.params.checkpoint_interval:
        return "checkpoint_not_multiple_of_k"
    data = checkpoint_vote_bytes(genesis.chain_id, proof.seq, proof.block_hash)
    return _quorum_of(cache, proof.signatures, data, genesis.quorum)


def check_prepared(genesis: Genesis, cache: SignatureCache, cert: PreparedCertificate) -> str | None:
    p = cert.proposal
    if p.chain_id != genesis.chain_id:
        return "wrong_chain"
    primary = genesis.primary_of(cert.view)
    digest = p.digest
    if not cache.check(primary, cert.pre_prepare_sig,
                       pre_prepare_vote_bytes(genesis.chain_id, cert.view, p.seq, digest)):
        return "bad_certificate_signature"
    return _quorum_of(cache, cert.prepares, prepare_vote_bytes(genesis.chain_id, cert.view, p.seq, digest),
                      2 * genesis.f, exclude=primary)


def check_commit(genesis: Genesis, cache: SignatureCache, proposal: Proposal,
                 cert: CommitCertificate) -> str | None:
    """A block fetched from a peer: the certificate is for this proposal and holds 2f + 1 signatures."""
    if proposal.chain_id != genesis.chain_id:
        return "wrong_chain"
    if cert.seq != proposal.seq:
        return "certificate_seq_mismatch"
    if cert.digest != proposal.digest:
        return "certificate_digest_mismatch"
    data = commit_vote_bytes(genesis.chain_id, cert.view, cert.seq, cert.digest)
    return _quorum_of(cache, cert.signatures, data, genesis.quorum)
