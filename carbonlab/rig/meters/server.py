"""Modbus servers for emulated meters: one TCP server per TCP meter, one serial server per RTU bus
(many device ids on one line). Faults that live on the wire rather than in the register bank
(offline, wrong device id, garbage bytes) are applied here through pymodbus's trace hooks.

`offline` on TCP closes the listener and its connections (a powered-off meter refuses
connections) and reopens it when cleared; on a serial bus the meter simply stops
answering. A request on a bus for a device id no meter has gets no reply, as on a
real RS-485 line (pymodbus would otherwise answer it with an exception).
"""

from __future__ import annotations

import random

from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from carbonlab.gateway.endpoint import Transport
from carbonlab.rig.meters.errors import MetersError
from carbonlab.rig.meters.meter import EmulatedMeter


class MeterServer:
    """One Modbus server: a TCP meter, or an RTU bus with its meters."""

    def __init__(self, meters: list[EmulatedMeter], seed: int = 0) -> None:
        self.meters = {m.endpoint.device_id: m for m in meters}
        self.first = meters[0].endpoint
        self.transport = self.first.transport
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._replying: EmulatedMeter | None = None   # set by trace_pdu, used by trace_packet
        self._rng = random.Random(seed)

    @property
    def name(self) -> str:
        e = self.first
        return f"{e.host}:{e.port}" if self.transport is Transport.TCP else e.serial_port

    async def start(self) -> None:
        # device id 0 catches requests for ids no meter has; _trace_packet keeps its replies off the line
        devices = [m.device() for m in self.meters.values()]
        devices.append(SimDevice(0, simdata=[SimData(0, values=[0], datatype=DataType.REGISTERS)]))
        e = self.first
        if self.transport is Transport.TCP:
            if self.meters[e.device_id].faults.offline:
                return
            self._server = ModbusTcpServer(devices, address=(e.host, e.port), trace_pdu=self._trace_pdu,
                                           trace_packet=self._trace_packet)
        else:
            self._server = ModbusSerialServer(devices, framer=FramerType.RTU, port=e.serial_port,
                                              baudrate=e.baudrate, parity=e.parity, stopbits=e.stopbits,
                                              bytesize=e.bytesize, trace_pdu=self._trace_pdu,
                                              trace_packet=self._trace_packet)
        try:
            await self._server.serve_forever(background=True)
        except (RuntimeError, OSError) as exc:   # pymodbus says "Could not start listen"
            self._server = None
            raise MetersError(f"meter server {self.name}: cannot listen ({exc}); is the port in use "
                              "or the serial device missing?") from exc

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def set_offline(self, meter: EmulatedMeter, offline: bool) -> None:
        """Called after `meter.faults.offline` changed."""
        if self.transport is not Transport.TCP:
            return  # on a bus, _trace_packet silences it
        if offline:
            await self.stop()
        elif self._server is None:
            await self.start()

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            return pdu
        meter = self._replying = self.meters.get(pdu.dev_id)
        if meter is not None and meter.faults.wrong_device_id:
            pdu.dev_id = meter.faults.wrong_device_id
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data
        meter, self._replying = self._replying, None
        if meter is None or meter.faults.offline:
            return b""   # no such device on the line, or it is switched off: silence
        if meter.faults.garbage_bytes:
            return self._rng.randbytes(meter.faults.garbage_bytes) + data
        return data
