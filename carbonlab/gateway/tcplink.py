"""A Modbus TCP link to one meter: one connection, a poll's two reads on it, little per read.

Theory of operation. A poll is two reads (the register block, the status bits), one after
the other, each within the meter's `timeout_s`. It was pymodbus's client; at a thousand meters a
second its per-request machinery (a lock, a future and a `wait_for` timer per request,
PDU objects, debug formatting) cost as much as the gateway's own work, so TCP meters get
this lean client: precomputed request layouts, one future per read, replies matched by
transaction id. The two requests are NOT sent in one write, although Modbus TCP allows
several outstanding transactions: the emulated meters (pymodbus's server) and many small
devices read only the first frame of a segment. Serial lines keep pymodbus (`bus.py`).

The link's life is `bus.MeterLink`'s: connect with an explicit timeout, back off (0.5 s
doubling to 10 s) while the meter is down, and drop the connection after a timeout or any
bad frame, so a late reply can never be read as the answer to a later request. Every frame
is checked by `modbus_tcp.decode` (transaction id, unit id, function code, byte count,
count asked) and then by the register map (`decode` checks the sizes again). An exception
response is the meter's definite answer: a comm-fault sample, no retry, connection kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from carbonlab.gateway import modbus_tcp
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import FrameError
from carbonlab.gateway.modbus_tcp import ExceptionReply, Read
from carbonlab.gateway.registermap import RegisterTable
from carbonlab.gateway.sample import Sample, SampleStatus

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 10.0


class _Protocol(asyncio.Protocol):
    """Cuts replies off the stream and hands each to the future waiting for its transaction id."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self._buf = b""
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            frames, self._buf = modbus_tcp.split(self._buf + data)
            for tid, frame in frames:
                future = self.waiting.pop(tid, None)
                if future is None:
                    raise FrameError(f"reply with transaction id {tid}, which no request is waiting for")
                if not future.done():
                    future.set_result(frame)
        except FrameError as exc:
            self._fail(exc)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("the meter closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        self.lost = exc
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)
        self.waiting.clear()


class TcpLink:
    """One TCP meter's connection and reconnect state. Used by one task at a time (one worker)."""

    def __init__(self, endpoint: MeterEndpoint, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self._clock = clock
        self._proto: _Protocol | None = None
        self._backoff_s = 0.0
        self._next_connect = 0.0
        self._tid = 0
        self.connects = 0
        m = endpoint.register_map
        regs_fc = (modbus_tcp.READ_INPUT_REGISTERS if m.table is RegisterTable.INPUT
                   else modbus_tcp.READ_HOLDING_REGISTERS)
        self._reads = (Read(regs_fc, m.first_register, m.register_count),
                       Read(modbus_tcp.READ_DISCRETE_INPUTS, m.first_bit, m.bit_count))

    @property
    def connected(self) -> bool:
        p = self._proto
        return p is not None and p.lost is None and p.transport is not None and not p.transport.is_closing()

    async def ensure_connected(self) -> str:
        """'' when connected, else why not (and the link stays down until its backoff expires)."""
        if self.connected:
            return ""
        now = self._clock()
        if now < self._next_connect:
            return f"disconnected; next connect attempt in {self._next_connect - now:.1f} s"
        self.close()
        e = self.endpoint
        try:
            async with asyncio.timeout(e.timeout_s + 1.0):
                _, proto = await asyncio.get_running_loop().create_connection(_Protocol, e.host, e.port)
        except (TimeoutError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            self._proto = proto
            self._backoff_s = 0.0
            self.connects += 1
            return ""
        self._backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_MIN_S, 2 * self._backoff_s))
        self._next_connect = self._clock() + self._backoff_s
        return f"connect failed: {why} ({e.host}:{e.port}); retry in {self._backoff_s:.1f} s"

    def drop(self) -> None:
        """Close after a timeout or a bad reply; reconnect at once on the next poll."""
        self.close()
        self._next_connect = 0.0

    def close(self) -> None:
        if self._proto is not None:
            if self._proto.transport is not None:
                self._proto.transport.close()
            self._proto._fail(ConnectionAbortedError("link closed"))
            self._proto = None

    async def poll(self, meter: MeterEndpoint) -> Sample:
        """Read one meter's register block and status bits, with `meter.retries` extra attempts."""
        t_wall, t0 = time.time(), time.perf_counter()
        detail = ""
        for _attempt in range(1 + meter.retries):
            detail = await self.ensure_connected()
            if detail:
                break
            try:
                return await self._poll_once(meter, t_wall, t0)
            except (TimeoutError, OSError, FrameError) as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if isinstance(exc, TimeoutError):
                    detail = f"TimeoutError: no reply within {meter.timeout_s:g} s"
                self.drop()
        return Sample(meter.id, t_wall, SampleStatus.COMM_FAULT, {}, time.perf_counter() - t0, detail)

    async def _poll_once(self, meter: MeterEndpoint, t_wall: float, t0: float) -> Sample:
        regs_read, bits_read = self._reads
        regs = await self._read(regs_read, meter)
        if isinstance(regs, ExceptionReply):
            return _fault(meter, t_wall, t0, f"exception response 0x{regs.code:02x} to read registers")
        bits = await self._read(bits_read, meter)
        if isinstance(bits, ExceptionReply):
            return _fault(meter, t_wall, t0, f"exception response 0x{bits.code:02x} to read discrete inputs")
        decoded = meter.register_map.decode(regs, bits[:bits_read.count])  # type: ignore[arg-type]
        return Sample(meter.id, t_wall, decoded.status, decoded.values, time.perf_counter() - t0,
                      decoded.detail)

    async def _read(self, read: Read, meter: MeterEndpoint) -> list[int] | list[bool] | ExceptionReply:
        """One request and its checked reply, within `meter.timeout_s`."""
        proto = self._proto
        assert proto is not None
        assert proto.transport is not None
        self._tid = self._tid % 0xFFFF + 1
        tid = self._tid
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        proto.waiting[tid] = future
        proto.transport.write(read.encode(tid, meter.device_id))
        async with asyncio.timeout(meter.timeout_s):
            frame = await future
        return modbus_tcp.decode(frame, tid, meter.device_id, read)


def _fault(meter: MeterEndpoint, t_wall: float, t0: float, detail: str) -> Sample:
    return Sample(meter.id, t_wall, SampleStatus.COMM_FAULT, {}, time.perf_counter() - t0, detail)
