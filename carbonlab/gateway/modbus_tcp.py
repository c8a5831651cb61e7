"""Modbus TCP frames (MBAP header + PDU) for the gateway's two reads: pure encode / split /
decode, no I/O (the transport is `tcplink.py`).

A request is `tid(2) protocol(2)=0 length(2)=6 unit(1) fc(1) address(2) count(2)`. A reply
is `tid protocol=0 length unit` and `length - 1` bytes of PDU: `fc byte_count data` or, for
an exception, `fc|0x80 code`. `split` cuts whole frames off a byte stream and refuses a
header no Modbus TCP server sends (protocol id not 0, a length outside 2..254); `decode`
checks a frame against the request it answers, field by field: transaction id, unit id,
function code, byte count, and the number of registers or bits asked for. Every refusal is
a `FrameError` saying which field and what it held.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from carbonlab.gateway.errors import FrameError

READ_DISCRETE_INPUTS = 0x02
READ_HOLDING_REGISTERS = 0x03
READ_INPUT_REGISTERS = 0x04
HEADER = struct.Struct(">HHHB")
REQUEST = struct.Struct(">HHHBBHH")
MAX_LENGTH = 254    # unit id + a PDU of at most 253 bytes


@dataclass(frozen=True, slots=True)
class Read:
    """One read request: function code, first address, how many registers or bits."""

    fc: int
    address: int
    count: int

    def encode(self, tid: int, unit: int) -> bytes:
        return REQUEST.pack(tid, 0, 6, unit, self.fc, self.address, self.count)


@dataclass(frozen=True, slots=True)
class ExceptionReply:
    code: int


def split(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Whole frames at the start of `buf` as (transaction id, frame), and the bytes left over."""
    frames: list[tuple[int, bytes]] = []
    at = 0
    while len(buf) - at >= HEADER.size:
        tid, proto, length, _unit = HEADER.unpack_from(buf, at)
        if proto != 0:
            raise FrameError(f"MBAP protocol id {proto}, expected 0")
        if not 2 <= length <= MAX_LENGTH:
            raise FrameError(f"MBAP length {length}, expected 2..{MAX_LENGTH}")
        end = at + 6 + length
        if end > len(buf):
            break
        frames.append((tid, buf[at:end]))
        at = end
    return frames, buf[at:]


def decode(frame: bytes, tid: int, unit: int, read: Read) -> list[int] | list[bool] | ExceptionReply:
    """The registers (list of int) or bits (list of bool, padded to whole bytes as on the wire)
    a reply to `read` carries, or its exception code."""
    got_tid, _, length, got_unit = HEADER.unpack_from(frame)
    if got_tid != tid:
        raise FrameError(f"reply transaction id {got_tid}, asked with {tid}")
    if got_unit != unit:
        raise FrameError(f"reply from unit id {got_unit}, asked unit {unit}")
    pdu = frame[7:7 + length - 1]
    fc = pdu[0]
    if fc == read.fc | 0x80:
        if len(pdu) != 2:
            raise FrameError(f"exception reply of {len(pdu)} PDU bytes, expected 2")
        return ExceptionReply(pdu[1])
    if fc != read.fc:
        raise FrameError(f"reply function code 0x{fc:02x}, asked 0x{read.fc:02x}")
    if len(pdu) < 2 or pdu[1] != len(pdu) - 2:
        raise FrameError(f"byte count {pdu[1] if len(pdu) > 1 else None} with {len(pdu) - 2} data bytes")
    data = pdu[2:]
    if read.fc == READ_DISCRETE_INPUTS:
        if len(data) != (read.count + 7) // 8:
            raise FrameError(f"asked for {read.count} bits, reply carries {8 * len(data)}")
        return [bool(byte >> i & 1) for byte in data for i in range(8)]
    if len(data) != 2 * read.count:
        raise FrameError(f"asked for {read.count} registers, reply carries {len(data) / 2:g}")
    return list(struct.unpack(f">{read.count}H", data))
