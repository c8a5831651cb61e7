"""Byzantine members: honest replica code underneath, with what it sends (or adds) twisted.

Each behaviour sees the member's outgoing envelopes and returns what actually goes on
the wire; some also inject messages of their own on ticks. They sign with the member's
real key, so every lie is one a real faulty member could tell. Twins (two replicas
running the same key) are built by the simulator itself, not here.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from carbonlab.node import codec
from carbonlab.node.block import Proposal
from carbonlab.node.crypto import Signer
from carbonlab.node.pbft.envelope import seal
from carbonlab.node.pbft.messages import (
    BODY_CLASSES,
    MAX_ENVELOPE_BYTES,
    Commit,
    Kind,
    Prepare,
    PrePrepare,
)

BEHAVIOURS = ("equivocate", "conflicting_votes", "forge", "replay", "silent", "twins")

Outgoing = list[tuple[str | None, bytes]]


@functools.cache
def _oversized() -> bytes:
    return bytes(MAX_ENVELOPE_BYTES + 1)


class Behaviour:
    def __init__(self, name: str, member: str, signer: Signer, chain_id: str,
                 members: tuple[str, ...], rng: random.Random) -> None:
        self.name = name
        self.member = member
        self.signer = signer
        self.chain_id = chain_id
        self.peers = tuple(m for m in members if m != member)
        self.rng = rng
        self.seen: list[bytes] = []

    def outgoing(self, to: str | None, data: bytes) -> Outgoing:
        handler: Callable[[str | None, bytes], Outgoing] | None = getattr(
            self, f"_out_{self.name}", None)
        return [(to, data)] if handler is None else handler(to, data)

    def observe(self, data: bytes) -> None:
        if self.name == "replay" and len(self.seen) < 500:
            self.seen.append(data)

    def inject(self) -> Outgoing:
        if self.name == "forge" and self.rng.random() < 0.2:
            return [self._forged()]
        if self.name == "replay" and self.seen and self.rng.random() < 0.3:
            return [(self.rng.choice(self.peers), self.rng.choice(self.seen))]
        return []

    def _split(self) -> tuple[list[str], list[str]]:
        peers = list(self.peers)
        self.rng.shuffle(peers)
        half = len(peers) // 2
        return peers[:half], peers[half:]

    def _out_silent(self, to: str | None, data: bytes) -> Outgoing:
        return []

    def _out_equivocate(self, to: str | None, data: bytes) -> Outgoing:
        value = codec.decode(data)
        if value[1] != Kind.PRE_PREPARE or to is not None:
            return [(to, data)]
        pp = PrePrepare.from_wire(value[2])
        p = pp.proposal
        twin = Proposal(p.chain_id, p.seq, p.timestamp_ms + 1, p.proposer, p.requests[:-1])
        other = seal(self.signer, self.chain_id, self.member, PrePrepare(pp.view, twin))
        a, b = self._split()
        out: Outgoing = [(m, data) for m in a]
        return out + [(m, other) for m in b]

    def _out_conflicting_votes(self, to: str | None, data: bytes) -> Outgoing:
        value = codec.decode(data)
        if value[1] not in (Kind.PREPARE, Kind.COMMIT) or to is not None:
            return [(to, data)]
        vote = BODY_CLASSES[Kind(value[1])].from_wire(value[2])
        assert isinstance(vote, Prepare | Commit)
        fake = type(vote)(vote.view, vote.seq, self.rng.randbytes(32))
        other = seal(self.signer, self.chain_id, self.member, fake)
        a, b = self._split()
        out: Outgoing = [(m, data) for m in a]
        return out + [(m, other) for m in b]

    def _forged(self) -> tuple[str | None, bytes]:
        kind = self.rng.randrange(5)
        target = self.rng.choice(self.peers)
        if kind == 0:     # garbage
            return target, self.rng.randbytes(self.rng.randrange(1, 200))
        if kind == 1:     # claims to come from another member, signed with our key
            victim = self.rng.choice(self.peers)
            return None, seal(self.signer, self.chain_id, victim,
                              Prepare(0, 1 + self.rng.randrange(8), self.rng.randbytes(32)))
        if kind == 2:     # oversized
            return target, _oversized()
        if kind == 3:     # a vote far above the watermarks
            return None, seal(self.signer, self.chain_id, self.member,
                              Commit(0, 10_000 + self.rng.randrange(100), self.rng.randbytes(32)))
        # a valid-looking message with one flipped byte
        data = bytearray(seal(self.signer, self.chain_id, self.member,
                              Prepare(0, 1, self.rng.randbytes(32))))
        data[self.rng.randrange(len(data))] ^= 0x40
        return target, bytes(data)
