"""Where and how to reach one meter: the `[[meters]]` table of a gateway config (and the meter
entries of the rig's METERS.yaml). Validated once, here, into a typed object; an emulated meter
and a physical one are the same thing to everything downstream (only the address differs).

Each field's default and accepted range are declared once on `MeterEndpoint` (the topology's
meter models reuse them with `fields.like`): `sample_period_s` is 0.05..60 s, because the HJ 76
minute rule counts `60 / sample_period_s` samples a minute and a longer period leaves a minute
without one; `baudrate` is one of the standard Modbus RTU rates 1200..115200.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from carbonlab import fields
from carbonlab.fields import FieldError, spec
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import MeterRegisterMap, load_register_map


class Transport(StrEnum):
    TCP = "tcp"
    RTU = "rtu"


PARITIES = ("N", "E", "O")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
COMMON = ("id", "transport", "device_id", "sample_period_s", "timeout_s", "retries")
TCP_ONLY = ("host", "port")
RTU_ONLY = ("serial_port", "baudrate", "parity", "stopbits", "bytesize")


@dataclass(frozen=True, slots=True)
class MeterEndpoint:
    id: str
    register_map: MeterRegisterMap
    register_map_ref: str           # what the config said: a built-in name or a path
    transport: Transport
    device_id: int = spec(1, lo=1, hi=247)
    host: str = spec("127.0.0.1")
    port: int = fields.port(502)
    sample_period_s: float = spec(1.0, lo=0.05, hi=60.0)
    timeout_s: float = spec(1.0, lo=0.01, hi=60.0)
    retries: int = spec(1, lo=0, hi=10)  # extra attempts inside one poll before it counts as a comm fault
    serial_port: str = spec("", allow_empty=True)
    baudrate: int = spec(9600, choices=BAUDRATES)
    parity: str = spec("N", choices=PARITIES)
    stopbits: int = spec(1, lo=1, hi=2)
    bytesize: int = spec(8, lo=7, hi=8)

    @property
    def bus(self) -> str:
        """Meters with the same bus share one worker: a serial line, or one TCP address per meter."""
        if self.transport is Transport.RTU:
            return f"rtu:{self.serial_port}"
        return f"tcp:{self.host}:{self.port}:{self.id}"

    def to_table(self) -> dict[str, Any]:
        """The `[[meters]]` table `from_dict` reads back into an equal endpoint."""
        own = TCP_ONLY if self.transport is Transport.TCP else RTU_ONLY
        table: dict[str, Any] = {"id": self.id, "register_map": self.register_map_ref,
                                 "transport": self.transport.value}
        table.update({name: getattr(self, name) for name in (*COMMON, *own) if name not in table})
        return table

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: Path | str) -> MeterEndpoint:
        """`path` is the config file: errors name it, and a relative register map path is resolved
        against its folder."""
        path = Path(path)
        if not isinstance(d, Mapping):
            raise ConfigError(f"{path}: a meter entry must be a table, got {type(d).__name__}")
        label = f"meter {d['id']!r}" if isinstance(d.get("id"), str) else "meter (no id)"
        try:
            return cls._read(d, path)
        except FieldError as exc:
            raise ConfigError(f"{path}: {label}: field {exc.field!r}: {exc.problem}") from None

    @classmethod
    def _read(cls, d: Mapping[str, Any], path: Path) -> MeterEndpoint:
        transport = fields.check(cls, "transport", d.get("transport", "tcp"), file=str(path),
                                 field="transport")
        own, other = (TCP_ONLY, RTU_ONLY) if transport is Transport.TCP else (RTU_ONLY, TCP_ONLY)
        for name in other:
            if name in d:
                raise FieldError(str(path), name, f"does not apply with transport = {transport}")
        ref = d.get("register_map")
        if not isinstance(ref, str) or not ref.strip():
            raise FieldError(str(path), "register_map",
                             "is required" if ref is None else f"must be a non-empty string, got {ref!r}")
        checked = fields.values(cls, {**d, "transport": transport.value}, file=str(path),
                                names=(*COMMON, *own), allowed=("register_map",),
                                required=("serial_port",) if transport is Transport.RTU else ())
        if transport is Transport.RTU and not checked["serial_port"].strip():
            raise FieldError(str(path), "serial_port", "must be a non-empty string, got ''")
        try:
            regmap = load_register_map(ref, base_dir=path.parent)
        except ConfigError as exc:
            raise FieldError(str(path), "register_map", str(exc)) from exc
        return cls(register_map=regmap, register_map_ref=ref, **checked)
