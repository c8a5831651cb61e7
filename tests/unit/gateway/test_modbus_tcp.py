"""The Modbus TCP codec of the gateway's lean TCP link: requests byte for byte, replies checked
field by field (Modbus Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3: "MBAP Header"
transaction id, protocol id 0, length, unit id; Modbus Application Protocol V1.1b3, 6.2-6.4)."""

from __future__ import annotations

import struct

import pytest

from carbonlab.gateway.errors import FrameError
from carbonlab.gateway.modbus_tcp import ExceptionReply, Read, decode, split

REGS = Read(0x04, 100, 3)
BITS = Read(0x02, 15, 12)


def reply(tid: int, unit: int, pdu: bytes, proto: int = 0, length: int | None = None) -> bytes:
    return struct.pack(">HHHB", tid, proto, len(pdu) + 1 if length is None else length, unit) + pdu


def test_a_request_is_the_mbap_header_and_the_read_pdu() -> None:
    assert REGS.encode(0x0102, 7) == bytes.fromhex("0102 0000 0006 07 04 0064 0003".replace(" ", ""))


def test_registers_and_bits_are_read_back() -> None:
    regs = reply(5, 1, bytes([0x04, 6]) + struct.pack(">3H", 1, 2, 0xFFFF))
    assert decode(regs, 5, 1, REGS) == [1, 2, 0xFFFF]
    bits = reply(6, 1, bytes([0x02, 2, 0b0000_0101, 0b0000_1000]))
    got = decode(bits, 6, 1, BITS)
    assert got[:12] == [True, False, True] + [False] * 8 + [True]
    assert len(got) == 16


def test_an_exception_reply_is_the_meters_answer() -> None:
    assert decode(reply(5, 1, bytes([0x84, 0x04])), 5, 1, REGS) == ExceptionReply(4)


@pytest.mark.parametrize(("frame", "problem"), [
    (reply(9, 1, bytes([0x04, 6]) + bytes(6)), "transaction id 9, asked with 5"),
    (reply(5, 2, bytes([0x04, 6]) + bytes(6)), "unit id 2, asked unit 1"),
    (reply(5, 1, bytes([0x03, 6]) + bytes(6)), "function code 0x03, asked 0x04"),
    (reply(5, 1, bytes([0x04, 8]) + bytes(6)), "byte count 8 with 6 data bytes"),
    (reply(5, 1, bytes([0x04, 4]) + bytes(4)), "asked for 3 registers, reply carries 2"),
    (reply(5, 1, bytes([0x84, 4, 0])), "exception reply of 3 PDU bytes"),
])
def test_a_reply_that_does_not_answer_the_request_is_refused_naming_the_field(frame: bytes,
                                                                             problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        decode(frame, 5, 1, REGS)


def test_too_few_bits_are_refused() -> None:
    with pytest.raises(FrameError, match="asked for 12 bits, reply carries 8"):
        decode(reply(6, 1, bytes([0x02, 1, 0xFF])), 6, 1, BITS)


def test_split_cuts_whole_frames_and_keeps_the_rest() -> None:
    a = reply(1, 1, bytes([0x04, 2, 0, 1]))
    b = reply(2, 1, bytes([0x02, 1, 3]))
    frames, rest = split(a + b[:5])
    assert frames == [(1, a)]
    assert rest == b[:5]
    frames, rest = split(rest + b[5:])
    assert frames == [(2, b)]
    assert rest == b""


@pytest.mark.parametrize(("frame", "problem"), [
    (reply(1, 1, bytes([0x04, 0]), proto=3), "protocol id 3, expected 0"),
    (reply(1, 1, b"", length=1), "MBAP length 1"),
    (reply(1, 1, b"", length=300), "MBAP length 300"),
    (b"\x8a\x17garbage" + reply(1, 1, bytes([0x04, 0])), "MBAP"),
])
def test_split_refuses_a_header_no_server_sends(frame: bytes, problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        split(frame)
