"""A hand-driven cluster for protocol tests: real replicas, real keys, a network the test controls.

Messages wait in `inbox` until `deliver()`; a `drop` predicate decides what is lost.
Each member's store (records, executed blocks) survives `crash()`/`restart()`, as the
node's SQLite ledger would. Import as `from tests.unit.node.pbft.cluster import Cluster`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from carbonlab.node import codec
from carbonlab.node.block import BlockHeader, CommitCertificate, Proposal
from carbonlab.node.pbft import Action, Execute, Persist, RecoveredState, Replica, Send, ServeBlocks
from carbonlab.node.pbft.messages import Kind
from carbonlab.node.sim.kit import Kit

Drop = Callable[[str, str, bytes], bool]   # (sender, to, data) -> lose it?


def kind_of(data: bytes) -> Kind:
    return Kind(codec.decode(data)[1])


@dataclass
class Store:
    records: list[bytes] = field(default_factory=list)
    blocks: list[tuple[Proposal, CommitCertificate]] = field(default_factory=list)
    head_hash: bytes = b""


class Cluster:
    def __init__(self, n: int = 4, params: dict[str, int] | None = None, gateways: int = 2) -> None:
        self.kit = Kit.build(n, gateways, params)
        self.genesis = self.kit.genesis
        self.ids = self.genesis.member_ids
        self.now_ms = 0
        self.stores = {m: Store(head_hash=self.genesis.hash) for m in self.ids}
        self.replicas: dict[str, Replica | None] = {
            m: Replica(self.genesis, m, self.kit.members[m]) for m in self.ids}
        self.inbox: list[tuple[str, str, bytes]] = []     # (sender, to, data)
        self.drop: Drop = lambda sender, to, data: False
        self.sent: list[tuple[str, str | None, bytes]] = []

    def replica(self, member: str) -> Replica:
        r = self.replicas[member]
        assert r is not None, f"{member} is down"
        return r

    def heights(self) -> dict[str, int]:
        return {m: len(s.blocks) for m, s in self.stores.items()}

    def batch(self, gateway: str = "gw1") -> bytes:
        return self.kit.next_batch(gateway)

    def handle(self, member: str, actions: list[Action]) -> None:
        store = self.stores[member]
        for a in actions:
            if isinstance(a, Persist):
                store.records.append(a.record)
            elif isinstance(a, Execute):
                assert a.proposal.seq == len(store.blocks) + 1, "executed out of order"
                store.head_hash = BlockHeader.for_proposal(a.proposal, store.head_hash).hash
                store.blocks.append((a.proposal, a.certificate))
        for a in actions:
            if isinstance(a, ServeBlocks):
                reply = self.replica(member).blocks_reply(a.to, store.blocks[a.from_seq - 1: a.to_seq])
                assert isinstance(reply, Send)
                self._send(member, reply)
            elif isinstance(a, Send):
                self._send(member, a)

    def _send(self, member: str, send: Send) -> None:
        self.sent.append((member, send.to, send.data))
        for to in ([m for m in self.ids if m != member] if send.to is None else [send.to]):
            self.inbox.append((member, to, send.data))

    def submit(self, member: str, data: bytes) -> None:
        self.handle(member, self.replica(member).submit(data, self.now_ms))

    def inject(self, to: str, data: bytes) -> list[Action]:
        actions = self.replica(to).receive(data, self.now_ms)
        self.handle(to, actions)
        return actions

    def deliver(self, limit: int = 100_000) -> int:
        """Deliver queued messages (FIFO) until none are left; returns how many were delivered."""
        count = 0
        while self.inbox and count < limit:
            sender, to, data = self.inbox.pop(0)
            r = self.replicas[to]
            if r is None or self.drop(sender, to, data):
                continue
            self.handle(to, r.receive(data, self.now_ms))
            count += 1
        return count

    def tick(self, ms: int, step_ms: int = 10) -> None:
        """Advance the clock by `ms`, ticking every replica and delivering after each step."""
        end = self.now_ms + ms
        while self.now_ms < end:
            self.now_ms = min(end, self.now_ms + step_ms)
            for m in self.ids:
                r = self.replicas[m]
                if r is not None:
                    self.handle(m, r.tick(self.now_ms))
            self.deliver()

    def crash(self, member: str) -> None:
        self.replicas[member] = None
        self.inbox = [x for x in self.inbox if x[1] != member]

    def restart(self, member: str) -> Replica:
        store = self.stores[member]
        rec = RecoveredState(list(store.records), len(store.blocks), store.head_hash)
        r = Replica(self.genesis, member, self.kit.members[member], recovered=rec, now_ms=self.now_ms)
        self.replicas[member] = r
        return r

    def agree(self) -> bool:
        """Every member's chain is a prefix of the longest one (same block hashes)."""
        chains = [[BlockHeader.for_proposal(p, b"").proposal_digest for p, _ in s.blocks]
                  for s in self.stores.values()]
        longest = max(chains, key=len)
        return all(c == longest[: len(c)] for c in chains)
