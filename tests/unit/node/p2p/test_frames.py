from __future__ import annotations

import pytest

from carbonlab.node.p2p.frames import (
    HEADER,
    KIND_MESSAGES,
    FrameDecoder,
    encode_heartbeat,
    encode_messages,
)
from carbonlab.node.p2p.queue import SendQueue


def test_messages_round_trip_in_one_frame_fed_byte_by_byte() -> None:
    msgs = [b"a", b"", b"x" * 1000, bytes(range(256))]
    frame = encode_messages(msgs) + encode_heartbeat()
    dec = FrameDecoder(max_frame_bytes=4096)
    got: list[bytes] = []
    beats = 0
    for i in range(len(frame)):
        out = dec.feed(frame[i : i + 1])
        assert out.errors == []
        got += out.messages
        beats += out.heartbeats
    assert got == msgs
    assert beats == 1
    assert dec.buffered == 0


def test_oversized_frame_is_skipped_without_losing_framing() -> None:
    dec = FrameDecoder(max_frame_bytes=100)
    big = encode_messages([b"z" * 500])
    after = encode_messages([b"ok"])
    out1 = dec.feed(big[:50])
    out2 = dec.feed(big[50:] + after)
    assert out1.errors == ["oversized"]
    assert out2.errors == []
    assert out2.messages == [b"ok"]


@pytest.mark.parametrize(("body", "reason"), [
    (bytes([99]) + b"junk", "bad_kind"),
    (bytes([KIND_MESSAGES]) + HEADER.pack(50) + b"short", "malformed"),
    (bytes([KIND_MESSAGES]) + b"\x00\x01", "malformed"),
    (bytes([KIND_MESSAGES]), "malformed"),
])
def test_garbage_bodies_are_reported_and_the_next_frame_still_decodes(body: bytes, reason: str) -> None:
    dec = FrameDecoder(max_frame_bytes=1000)
    out = dec.feed(HEADER.pack(len(body)) + body + encode_messages([b"next"]))
    assert out.errors == [reason]
    assert out.messages == [b"next"]


def test_empty_frame_is_reported() -> None:
    out = FrameDecoder().feed(HEADER.pack(0) + encode_messages([b"m"]))
    assert out.errors == ["empty"]
    assert out.messages == [b"m"]


def test_queue_drops_oldest_when_full_and_coalesces_up_to_a_frame() -> None:
    q = SendQueue(max_messages=3, max_bytes=10_000, max_frame_bytes=30)
    for i in range(5):
        assert q.put(bytes([i]) * 5)
    assert q.dropped == 2
    frame, count = q.take_frame()      # 5 + 3 * 9 = 32 > 30: two fit
    assert count == 2
    assert FrameDecoder(30).feed(frame).messages == [b"\x02" * 5, b"\x03" * 5]
    frame, count = q.take_frame()
    assert count == 1
    assert q.take_frame() == (b"", 0)
    assert not q.put(b"q" * 100)
    assert q.too_large == 1


def test_queue_byte_bound() -> None:
    q = SendQueue(max_messages=100, max_bytes=20, max_frame_bytes=1000)
    q.put(b"a" * 10)
    q.put(b"b" * 10)
    assert len(q) == 1
    assert q.size_bytes == 14
