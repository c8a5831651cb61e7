"""The bounded send queue of one peer: drop-oldest, taken out in coalesced frames.

A peer that reads slowly (or not at all) must not hold up consensus with the
others, and must not make this node's memory grow. Each peer (and protocol) has
its own queue bounded in messages and bytes; when a new message does not fit, the
oldest ones are dropped and counted. PBFT tolerates lost messages (retransmission
by view change and state transfer); it does not tolerate a stalled primary.
"""

from __future__ import annotations

from collections import deque

import trio

from carbonlab.node.p2p.frames import encode_messages, frame_overhead, message_cost


class SendQueue:
    def __init__(self, max_messages: int, max_bytes: int, max_frame_bytes: int,
                 coalesce_bytes: int = 1024 * 1024) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.max_frame_bytes = max_frame_bytes
        self.coalesce_bytes = min(coalesce_bytes, max_frame_bytes)  # one write stays short
        self._items: deque[bytes] = deque()
        self._bytes = 0
        self._ready = trio.Event()
        self.dropped = 0          # dropped because the queue was full
        self.too_large = 0        # refused because one message exceeds a frame

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def put(self, msg: bytes) -> bool:
        """Queue a message; False when it can never be sent (larger than a frame)."""
        cost = message_cost(msg)
        if cost + frame_overhead() > self.max_frame_bytes:
            self.too_large += 1
            return False
        self._items.append(msg)
        self._bytes += cost
        while len(self._items) > self.max_messages or self._bytes > self.max_bytes:
            old = self._items.popleft()
            self._bytes -= message_cost(old)
            self.dropped += 1
        self._ready.set()
        return True

    async def wait(self) -> None:
        """Return when at least one message is queued."""
        while not self._items:
            self._ready = trio.Event()
            await self._ready.wait()

    def take_frame(self) -> tuple[bytes, int]:
        """Queued messages up to `coalesce_bytes` (one larger message goes alone), encoded."""
        taken: list[bytes] = []
        size = frame_overhead()
        while self._items:
            cost = message_cost(self._items[0])
            if taken and size + cost > self.coalesce_bytes:
                break
            msg = self._items.popleft()
            self._bytes -= cost
            size += cost
            taken.append(msg)
        return (encode_messages(taken), len(taken)) if taken else (b"", 0)

    def clear(self) -> int:
        n = len(self._items)
        self._items.clear()
        self._bytes = 0
        return n
