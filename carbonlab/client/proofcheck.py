"""A reading's proof, judged in the console's backend: valid or invalid, and why.

The console fetches `GET /v1/readings/<meter>/<seq>/proof` from its member and runs node's
`check_proof` against the genesis file it was started with (never one the node sends), so a
member that altered a reading, a block or a certificate cannot make the page say valid. On
top of the proof's own links (reading -> signed batch -> block -> 2f + 1 signatures,
`carbonlab.node.ledger.proof`), the console checks the proof is about the reading it asked
for: a valid proof of some other reading is invalid here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.model import Reading


@dataclass(frozen=True, slots=True)
class ProofVerdict:
    valid: bool
    meter_id: str
    seq: int
    reading: Reading | None        # the proven reading when valid
    problem: str | None            # which link failed when invalid
    height: int | None             # the block the proof names (as the proof says)
    signers: tuple[str, ...]       # the certificate's signers (as the proof says)


def judge(genesis: Genesis, meter_id: str, seq: int, proof: Any) -> ProofVerdict:
    from carbonlab.node.ledger.proof import ProofError, check_proof

    height, signers = _claimed(proof)
    try:
        reading = check_proof(genesis, proof)
    except ProofError as exc:
        return ProofVerdict(False, meter_id, seq, None, str(exc), height, signers)
    if (reading.meter_id, reading.seq) != (meter_id, seq):
        return ProofVerdict(False, meter_id, seq, None,
                            f"the proof is of reading {reading.meter_id}/{reading.seq}, "
                            f"not {meter_id}/{seq}", height, signers)
    return ProofVerdict(True, meter_id, seq, reading, None, height, signers)


def _claimed(proof: Any) -> tuple[int | None, tuple[str, ...]]:
    """What the proof says of its block, for display only (judged by `check_proof`)."""
    if not isinstance(proof, dict):
        return None, ()
    block, cert = proof.get("block"), proof.get("certificate")
    height = block.get("height") if isinstance(block, dict) else None
    sigs = cert.get("signatures") if isinstance(cert, dict) else None
    signers = tuple(str(s[0]) for s in sigs if isinstance(s, list) and s) if isinstance(sigs, list) else ()
    return (height if isinstance(height, int) else None), signers
