"""One Modbus link (a TCP connection to one meter, or one serial line shared by the meters on it)
and one poll of one meter over it.

Theory of operation. pymodbus's own reconnect logic does not fit a poller: it waits
`reconnect_delay` (growing to 300 s) on a dead meter and never retries a first connect
that failed. So the client is built with automatic reconnection off, and this module
owns the link's life: connect with an explicit timeout, back off (doubling from
`BACKOFF_MIN_S` to `BACKOFF_MAX_S`) while the peer is down, and drop the connection
after any timeout. The last point matters most on a serial line, which has no
transaction id: a reply that arrives after its request timed out would otherwise be
taken as the reply to the next request. A fresh connection (a reopened port) empties
the buffers. Each reply is also checked for the number of registers and bits asked for.

Every poll yields exactly one `Sample`, a comm fault included, so the averager sees
every second it did not get a value.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Awaitable, Callable

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from carbonlab.gateway.endpoint import MeterEndpoint, Transport
from carbonlab.gateway.errors import FrameError
from carbonlab.gateway.registermap import RegisterTable
from carbonlab.gateway.sample import Sample, SampleStatus

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 10.0
ModbusClient = AsyncModbusTcpClient | AsyncModbusSerialClient


class MeterLink:
    """A pymodbus client plus its reconnect state. Used by one task at a time (one worker)."""

    def __init__(self, endpoint: MeterEndpoint, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint  # any meter on the link: gives the address and the line settings
        self._clock = clock
        self._client: ModbusClient | None = None
        self._backoff_s = 0.0
        self._next_connect = 0.0
        self.connects = 0

    def _make_client(self) -> ModbusClient:
        e = self.endpoint
        # reconnect_delay=0: no automatic reconnection, this class decides when to reconnect.
        if e.transport is Transport.TCP:
            return AsyncModbusTcpClient(e.host, port=e.port, timeout=e.timeout_s, retries=0,
                                        reconnect_delay=0, reconnect_delay_max=0)
        return AsyncModbusSerialClient(e.serial_port, baudrate=e.baudrate, parity=e.parity,
                                       stopbits=e.stopbits, bytesize=e.bytesize, timeout=e.timeout_s,
                                       retries=0, reconnect_delay=0, reconnect_delay_max=0)

    async def ensure_connected(self) -> str:
        """'' when connected, else why not (and the link stays down until its backoff expires)."""
        if self._client is not None and self._client.connected:
            return ""
        now = self._clock()
        if now < self._next_connect:
            return f"disconnected; next connect attempt in {self._next_connect - now:.1f} s"
        self.close()
        self._client = self._make_client()
        try:
            async with asyncio.timeout(self.endpoint.timeout_s + 1.0):
                ok = await self._client.connect()
        except (TimeoutError, OSError, ModbusException) as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        else:
            why = "connect failed" if self.endpoint.transport is Transport.TCP else \
                f"connect failed: {_serial_why(self.endpoint.serial_port)}"
        if ok:
            self._backoff_s = 0.0
            self.connects += 1
            return ""
        self.close()
        self._backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_MIN_S, 2 * self._backoff_s))
        self._next_connect = self._clock() + self._backoff_s
        return f"{why} ({self._where()}); retry in {self._backoff_s:.1f} s"

    def _where(self) -> str:
        e = self.endpoint
        return f"{e.host}:{e.port}" if e.transport is Transport.TCP else e.serial_port

    def drop(self) -> None:
        """Close after a timeout or a bad reply; reconnect at once on the next poll."""
        self.close()
        self._next_connect = 0.0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _request(self, read: Callable[..., Awaitable[ModbusPDU]], address: int, count: int,
                       device_id: int, timeout_s: float) -> ModbusPDU:
        # pymodbus applies timeout_s itself; this outer bound only guards against a hang in it.
        async with asyncio.timeout(timeout_s + 1.0):
            return await read(address, count=count, device_id=device_id)

    async def poll(self, meter: MeterEndpoint) -> Sample:
        """Read one meter's register block and status bits, with `meter.retries` extra attempts."""
        t_wall, t0 = time.time(), time.perf_counter()
        detail = ""
        for _attempt in range(1 + meter.retries):
            detail = await self.ensure_connected()
            if detail:
                break
            try:
                sample = await self._poll_once(meter, t_wall, t0)
            except (TimeoutError, ModbusException, OSError, FrameError) as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self.drop()
                continue
            return sample  # an exception response is the meter's definite answer: no retry
        return Sample(meter.id, t_wall, SampleStatus.COMM_FAULT, {}, time.perf_counter() - t0, detail)

    async def _poll_once(self, meter: MeterEndpoint, t_wall: float, t0: float) -> Sample:
        client, regmap = self._client, meter.register_map
        assert client is not None
        read_regs = (client.read_input_registers if regmap.table is RegisterTable.INPUT
                     else client.read_holding_registers)
        regs = await self._request(read_regs, regmap.first_register, regmap.register_count, meter.device_id,
                                   meter.timeout_s)
        if isinstance(regs, ExceptionResponse) or regs.isError():
            return _fault(meter, t_wall, t0, f"exception response {_code(regs)} to read registers")
        if len(regs.registers) != regmap.register_count:
            raise FrameError(f"asked for {regmap.register_count} registers, "
                             f"reply carries {len(regs.registers)}")
        bits = await self._request(client.read_discrete_inputs, regmap.first_bit, regmap.bit_count,
                                   meter.device_id, meter.timeout_s)
        if isinstance(bits, ExceptionResponse) or bits.isError():
            return _fault(meter, t_wall, t0, f"exception response {_code(bits)} to read discrete inputs")
        if len(bits.bits) != (regmap.bit_count + 7) // 8 * 8:
            raise FrameError(f"asked for {regmap.bit_count} bits, reply carries {len(bits.bits)}")
        decoded = regmap.decode(regs.registers, bits.bits[:regmap.bit_count])
        return Sample(meter.id, t_wall, decoded.status, decoded.values, time.perf_counter() - t0,
                      decoded.detail)


def _code(pdu: ModbusPDU) -> str:
    return f"0x{pdu.exception_code:02x}" if isinstance(pdu, ExceptionResponse) else "(error)"


def _fault(meter: MeterEndpoint, t_wall: float, t0: float, detail: str) -> Sample:
    return Sample(meter.id, t_wall, SampleStatus.COMM_FAULT, {}, time.perf_counter() - t0, detail)


def _serial_why(port: str) -> str:
    """Why a serial port did not open (pymodbus only says it did not)."""
    try:
        mode = os.stat(port).st_mode
    except OSError as exc:
        return f"{port}: {exc.strerror}"
    if not stat.S_ISCHR(mode):
        return f"{port}: not a serial device"
    allowed = os.access(port, os.R_OK | os.W_OK)
    return f"{port}: {'cannot open it' if allowed else 'no permission to open it'}"
