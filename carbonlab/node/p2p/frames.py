"""Length-prefixed frames for the member-to-member streams (pure codec, no I/O).

Theory of operation. A stream carries frames: a 4-byte big-endian body length,
then the body: one kind byte and its payload. A MESSAGES frame carries one or more
messages, each prefixed by its own 4-byte length, so the small votes that wait for
the same peer leave in one write (coalescing). A HEARTBEAT frame is empty; it
proves the sender is alive when it has nothing else to say.

The decoder is incremental and never trusts a length: a frame whose body is larger
than `max_frame_bytes` is skipped without being buffered (the bytes are counted and
thrown away as they arrive) and reported once as "oversized"; a body with an
unknown kind byte is reported as "bad_kind"; a MESSAGES body whose inner lengths
do not add up is reported as "malformed" and its messages are dropped. None of
these stop the stream: the framing itself stays intact because the outer length is
always honoured.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

KIND_MESSAGES = 1
KIND_HEARTBEAT = 2
HEADER = struct.Struct(">I")
DEFAULT_MAX_FRAME_BYTES = 17 * 1024 * 1024  # a PBFT envelope may be 16 MiB


def encode_messages(messages: Iterable[bytes]) -> bytes:
    """One MESSAGES frame holding every message, in order."""
    parts = [b"", bytes([KIND_MESSAGES])]
    size = 1
    for msg in messages:
        parts.append(HEADER.pack(len(msg)))
        parts.append(msg)
        size += HEADER.size + len(msg)
    parts[0] = HEADER.pack(size)
    return b"".join(parts)


def encode_heartbeat() -> bytes:
    return HEADER.pack(1) + bytes([KIND_HEARTBEAT])


def message_cost(msg: bytes) -> int:
    """Bytes a message adds to a MESSAGES frame."""
    return HEADER.size + len(msg)


def frame_overhead() -> int:
    return HEADER.size + 1


@dataclass
class Decoded:
    """What one `feed` produced: messages in order, heartbeats seen, errors by reason."""

    messages: list[bytes] = field(default_factory=list)
    heartbeats: int = 0
    errors: list[str] = field(default_factory=list)


class FrameDecoder:
    """Turns a byte stream into messages; errors are reported, never raised."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized body still to discard

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> Decoded:
        out = Decoded()
        view = memoryview(data)
        if self._skip:
            n = min(self._skip, len(view))
            self._skip -= n
            view = view[n:]
        self._buf += view
        while True:
            if len(self._buf) < HEADER.size:
                break
            (size,) = HEADER.unpack_from(self._buf, 0)
            if size > self.max_frame_bytes:
                out.errors.append("oversized")
                available = len(self._buf) - HEADER.size
                if available >= size:
                    del self._buf[: HEADER.size + size]
                    continue
                self._skip = size - available
                self._buf.clear()
                break
            if size == 0:
                out.errors.append("empty")
                del self._buf[: HEADER.size]
                continue
            if len(self._buf) < HEADER.size + size:
                break
            body = bytes(self._buf[HEADER.size : HEADER.size + size])
            del self._buf[: HEADER.size + size]
            self._body(body, out)
        return out

    @staticmethod
    def _body(body: bytes, out: Decoded) -> None:
        kind = body[0]
        if kind == KIND_HEARTBEAT:
            out.heartbeats += 1
            return
        if kind != KIND_MESSAGES:
            out.errors.append("bad_kind")
            return
        pos, end = 1, len(body)
        found: list[bytes] = []
        while pos < end:
            if end - pos < HEADER.size:
                out.errors.append("malformed")
                return
            (n,) = HEADER.unpack_from(body, pos)
            pos += HEADER.size
            if n > end - pos:
                out.errors.append("malformed")
                return
            found.append(body[pos : pos + n])
            pos += n
        if not found:
            out.errors.append("malformed")
            return
        out.messages.extend(found)
