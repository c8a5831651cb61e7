"""Faults of emulated meters, switched through the meter's binding (`MeterProtocol.set_faults`,
the meters process's control endpoint, docs/meters.md): the fault's fields to apply, the same
fields back at their defaults to heal (so two faults on one meter heal independently). A
physical meter's binding refuses with `PhysicalMeterError`, which the journal records."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.context import FaultContext
from carbonlab.rig.meters.errors import MetersConfigError


def switch_faults(ctx: FaultContext, meter: str, fields: dict[str, Any]) -> tuple[str, ...]:
    """Set `fields` on `meter`; the faults active on it now."""
    binding = ctx.meter(meter)
    try:
        return asyncio.run(binding.set_faults(**fields))
    except MetersConfigError as exc:   # the meters process refused the value: the scenario's fault
        raise FaultError(f"meter {meter}: {exc}") from None


class _MeterFault(Fault):
    target_kind: ClassVar[str] = "meter"
    # fault field on the meter -> (value when applied: a parameter name or a constant, default)
    FIELDS: ClassVar[dict[str, tuple[str | Any, Any]]] = {}

    def _values(self, healed: bool) -> dict[str, Any]:
        out = {}
        for name, (value, default) in self.FIELDS.items():
            if healed:
                out[name] = default
            else:
                out[name] = self.params[value] if isinstance(value, str) and value in self.params else value
        return out

    def apply(self, ctx: FaultContext) -> str:
        fields = self._values(healed=False)
        now = switch_faults(ctx, self.target, fields)
        return f"meter {self.target}: {fields} (active now: {', '.join(now) or 'none'})"

    def heal(self, ctx: FaultContext) -> str:
        fields = self._values(healed=True)
        switch_faults(ctx, self.target, fields)
        return f"meter {self.target}: {fields}"


class MeterOffline(_MeterFault):
    id = "meter.offline"
    summary = "the meter stops answering (TCP listener closed / no RTU reply)"
    FIELDS = {"offline": (True, False)}


class MeterSlow(_MeterFault):
    id = "meter.slow"
    summary = "every reply delayed"
    PARAMS = {"delay_s": Param(float, 2.0, "reply delay", minimum=0.0, maximum=60.0)}
    FIELDS = {"slow_s": ("delay_s", 0.0)}


class MeterDrift(_MeterFault):
    id = "meter.drift"
    summary = "CO2 reading drifts away from the truth"
    PARAMS = {"pct_per_h": Param(float, 2.0, "absolute CO2 % per hour")}
    FIELDS = {"drift_pct_per_h": ("pct_per_h", 0.0)}


class MeterStuck(_MeterFault):
    id = "meter.stuck"
    summary = "every channel frozen at its current value"
    FIELDS = {"stuck": (True, False)}


class MeterSpike(_MeterFault):
    id = "meter.spike"
    summary = "one second in every N carries a CO2 spike"
    PARAMS = {"every_s": Param(int, 30, "spike period", minimum=1),
              "pct": Param(float, 5.0, "spike size, CO2 %")}
    FIELDS = {"spike_every_s": ("every_s", 0), "spike_pct": ("pct", 5.0)}


class MeterException(_MeterFault):
    id = "meter.exception"
    summary = "every read answered with a Modbus exception"
    PARAMS = {"code": Param(int, 4, "Modbus exception code", choices=(1, 2, 3, 4, 5, 6, 10, 11))}
    FIELDS = {"exception_code": ("code", 0)}


class MeterCalibration(_MeterFault):
    id = "meter.calibration"
    summary = "the analyser in zero or span calibration (status bits set, calibration gas served)"
    PARAMS = {"mode": Param(str, "zero", "calibration gas", choices=("zero", "span"))}
    FIELDS = {"calibration": ("mode", "")}


class MeterGarbage(_MeterFault):
    id = "meter.garbage"
    summary = "random bytes on the line before each reply"
    PARAMS = {"bytes": Param(int, 8, "bytes of garbage per reply", minimum=1, maximum=256)}
    FIELDS = {"garbage_bytes": ("bytes", 0)}
