"""One emulated meter: profile + faults + register bank (a pymodbus SimDevice) + truth log.

Theory of operation. Time is cut into whole UTC seconds. In second `s` the meter serves
one set of values: the profile's point for `s` with the active faults applied. The
state is advanced lazily (on each request, and by the server's once-a-second tick, so
that seconds nobody read are logged too), strictly in order, one profile step per
second: the same seed gives the same seconds however the meter is polled. When a
second is over, one JSON line goes to the truth log:

    {"t": 1764132000, "true": {...}, "served": {...}, "status": "ok", "faults": [...], "reads": 1}

`true` and `served` hold every channel of the profile: the six CO2 channels, `ch4` and `n2o`
(in the unit and basis of the map's channel where the map has one, else ppm dry),
`gross_mw` and `heat_input_mw` (MW thermal, whatever unit the map's register uses).

`true` is the profile, `served` what the registers held (after drift, spikes, stuck,
calibration gas), `status` the state the status bits announced, `faults` every fault
active at some moment of the second, `reads` how many register reads the meter answered
in that second. When a fault switched inside the second changed what was served,
`served`/`status` are the values at the end of the second, `"changed": true` marks the
line and `statuses` lists every status announced in it. The mean of `served` over an
interval is the true interval average a gateway should report.

The register bank is refreshed from inside the SimDevice `action` callback (pymodbus
hands it the live register list to modify in place), which is also where slow replies
and exception responses are produced and where the calibration coils are watched.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.registermap import Coil, RegisterTable, StatusFlags
from carbonlab.rig.meters.faults import Faults
from carbonlab.rig.meters.profile import ProfileSpec, UnitProfile
from carbonlab.rig.meters.units import in_map_units

READ_REGISTERS = (3, 4)
READ_BITS = (1, 2)
WRITE_COILS = (5, 15)
SPAN_GAS_CO2_PCT = 15.0


def _bits_to_words(bits: list[bool], first_bit: int) -> list[int]:
    full = [False] * (first_bit % 16) + bits
    full += [False] * (-len(full) % 16)
    return [sum(1 << i for i, b in enumerate(full[w:w + 16]) if b) for w in range(0, len(full), 16)]


class EmulatedMeter:
    def __init__(self, endpoint: MeterEndpoint, spec: ProfileSpec, seed: int, truth_path: Path | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.endpoint = endpoint
        self.map = endpoint.register_map
        self.profile = UnitProfile(spec, seed)
        self.faults = Faults()
        self.clock = clock
        self.coil_calibration = ""     # set by writing the start_zero / start_span coils
        self.calibration = {"co2_slope": 1.0, "co2_offset": 0.0}
        self._truth: IO[str] | None = None
        if truth_path is not None:
            truth_path.parent.mkdir(parents=True, exist_ok=True)
            self._truth = truth_path.open("a", encoding="utf-8")
        self.second = math.floor(clock())
        self.reads = 0
        self._step(self.second)

    # -- time --------------------------------------------------------------------------------------
    def _step(self, sec: int) -> None:
        self.true = in_map_units(self.profile.step(sec).values, self.map)
        self._seen_faults: set[str] = set()
        self._seen_statuses: set[str] = set()
        self._changed = False
        self._apply_faults()

    def advance(self) -> None:
        now = math.floor(self.clock())
        while self.second < now:
            self._log(partial=False)
            self.second += 1
            self.reads = 0
            self._step(self.second)

    def refresh(self) -> None:
        """Faults changed: re-apply them to this second's true values."""
        self.advance()
        self._apply_faults()

    def _apply_faults(self) -> None:
        before = getattr(self, "served", None)
        self.served = self.faults.apply_values(self.true, self.second, SPAN_GAS_CO2_PCT,
                                               self.coil_calibration)
        self.flags = StatusFlags(
            system_ok=not self.faults.invalid,
            invalid=self.faults.invalid,
            zero_calibration="zero" in (self.faults.calibration, self.coil_calibration),
            span_calibration="span" in (self.faults.calibration, self.coil_calibration),
            maintenance=self.faults.maintenance,
        )
        self.registers = self.map.encode(self.served, self.calibration)
        self.bit_words = _bits_to_words(self.map.encode_status(self.flags), self.map.first_bit)
        if self._seen_statuses and before != self.served:
            self._changed = True   # a fault switched inside this second changed what was served
        self._seen_faults.update(self.faults.active())
        self._seen_statuses.add(self.status())

    def status(self) -> str:
        f = self.flags
        if f.zero_calibration or f.span_calibration:
            return "calibrating"
        if f.maintenance:
            return "maintenance"
        if f.invalid or not f.system_ok:
            return "invalid"
        return "ok"

    def _log(self, *, partial: bool) -> None:
        if self._truth is None:
            return
        line: dict[str, object] = {
            "t": self.second, "true": self.true, "served": self.served, "status": self.status(),
            "faults": sorted(self._seen_faults), "reads": self.reads}
        if len(self._seen_statuses) > 1:
            line["statuses"] = sorted(self._seen_statuses)
        if self._changed:
            line["changed"] = True
        if partial:
            line["partial"] = True
        self._truth.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._truth.flush()

    def close(self) -> None:
        if self._truth is not None:
            self._log(partial=True)
            self._truth.close()
            self._truth = None

    # -- Modbus ------------------------------------------------------------------------------------
    def device(self) -> SimDevice:
        m = self.map
        regs = [SimData(m.first_register, values=[0] * m.register_count, datatype=DataType.REGISTERS)]
        other = [SimData(0, values=[0], datatype=DataType.REGISTERS)]
        coil_lo, coil_hi = min(m.coils.values()), max(m.coils.values())
        coils = [SimData(coil_lo, values=[False] * (coil_hi - coil_lo + 1), datatype=DataType.BITS)]
        bits = [SimData(m.first_bit, values=[False] * m.bit_count, datatype=DataType.BITS)]
        holding, inputs = (other, regs) if m.table is RegisterTable.INPUT else (regs, other)
        return SimDevice(self.endpoint.device_id, simdata=(coils, bits, holding, inputs), action=self.action)

    async def action(self, function_code: int, start_address: int, address: int, count: int,
                     registers: list[int], set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        self.advance()
        if self.faults.slow_s:
            await asyncio.sleep(self.faults.slow_s)
        if self.faults.exception_code:
            return ExcCodes(self.faults.exception_code)
        expected = 4 if self.map.table is RegisterTable.INPUT else 3
        if function_code == expected and start_address == self.map.first_register:
            registers[:len(self.registers)] = self.registers
            self.reads += 1
        elif function_code == 2:
            registers[:len(self.bit_words)] = self.bit_words
        elif function_code in WRITE_COILS and set_values is not None:
            self._watch_coils(address, [bool(v) for v in set_values])
        return None

    def _watch_coils(self, address: int, values: list[bool]) -> None:
        written = {address + i: v for i, v in enumerate(values)}
        zero, span = self.map.coils[Coil.START_ZERO], self.map.coils[Coil.START_SPAN]
        if written.get(zero):
            self.coil_calibration = "zero"
        elif written.get(span):
            self.coil_calibration = "span"
        elif (zero in written and not written[zero]) or (span in written and not written[span]):
            self.coil_calibration = ""   # T-series: coil on enters calibration, off leaves it
        self._apply_faults()
