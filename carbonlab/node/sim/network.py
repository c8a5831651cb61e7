"""An in-memory network that drops, delays, reorders, duplicates and partitions, driven by one RNG.

Reordering comes from independent random delays. A partition is a set of groups;
a message crosses only within a group. `perfect()` turns every fault off (healing).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field


@dataclass
class LinkFaults:
    drop: float = 0.0
    duplicate: float = 0.0
    min_delay_ms: int = 1
    max_delay_ms: int = 10


@dataclass(order=True)
class Delivery:
    at_ms: int
    order: int
    to: str = field(compare=False)
    sender: str = field(compare=False)
    data: bytes = field(compare=False)


class Network:
    def __init__(self, rng: random.Random, members: tuple[str, ...], faults: LinkFaults) -> None:
        self.rng = rng
        self.members = members
        self.faults = faults
        self.groups: list[frozenset[str]] = []
        self._queue: list[Delivery] = []
        self._order = 0
        self.sent = 0
        self.dropped = 0

    def perfect(self) -> None:
        self.faults = LinkFaults()
        self.groups = []

    def partition(self, groups: list[frozenset[str]]) -> None:
        self.groups = groups

    def connected(self, a: str, b: str) -> bool:
        return not self.groups or any(a in g and b in g for g in self.groups)

    def send(self, sender: str, to: str | None, data: bytes, now_ms: int) -> None:
        targets = [m for m in self.members if m != sender] if to is None else [to]
        for target in targets:
            self.sent += 1
            if not self.connected(sender, target) or self.rng.random() < self.faults.drop:
                self.dropped += 1
                continue
            copies = 2 if self.rng.random() < self.faults.duplicate else 1
            for _ in range(copies):
                delay = self.rng.randint(self.faults.min_delay_ms, self.faults.max_delay_ms)
                self._order += 1
                heapq.heappush(self._queue, Delivery(now_ms + delay, self._order, target, sender, data))

    def pop_due(self, now_ms: int) -> Delivery | None:
        """The next message due at or before `now_ms`, in delivery-time order."""
        if self._queue and self._queue[0].at_ms <= now_ms:
            return heapq.heappop(self._queue)
        return None

    def clear(self) -> None:
        self._queue.clear()
