"""Where and how to reach one meter: the `[[meters]]` table of a gateway config (and the meter
entries of the rig's METERS.yaml). Validated once, here, into a typed object; an emulated meter
and a physical one are the same thing to everything downstream (only the address differs)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import MeterRegisterMap, load_register_map


class Transport(StrEnum):
    TCP = "tcp"
    RTU = "rtu"


FIELDS = {"id", "register_map", "transport", "host", "port", "device_id", "sample_period_s", "timeout_s",
          "retries", "serial_port", "baudrate", "parity", "stopbits", "bytesize"}
PARITIES = ("N", "E", "O")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True, slots=True)
class MeterEndpoint:
    id: str
    register_map: MeterRegisterMap
    register_map_ref: str           # what the config said: a built-in name or a path
    transport: Transport
    device_id: int = 1
    host: str = "127.0.0.1"
    port: int = 502
    sample_period_s: float = 1.0
    timeout_s: float = 1.0
    retries: int = 1                # extra attempts inside one poll before it counts as a comm fault
    serial_port: str = ""
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    @property
    def bus(self) -> str:
        """Meters with the same bus share one worker: a serial line, or one TCP address per meter."""
        if self.transport is Transport.RTU:
            return f"rtu:{self.serial_port}"
        return f"tcp:{self.host}:{self.port}:{self.id}"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: Path | str) -> MeterEndpoint:
        """`path` is the config file: errors name it, and a relative register map path is resolved
        against its folder."""
        path = Path(path)
        raw = _Fields(d, path)
        ident = raw.text("id")
        transport = raw.choice("transport", tuple(t.value for t in Transport), default="tcp")
        ref = raw.text("register_map")
        try:
            regmap = load_register_map(ref, base_dir=path.parent)
        except ConfigError as exc:
            raise raw.fail("register_map", str(exc)) from exc
        common: dict[str, Any] = dict(
            id=ident, register_map=regmap, register_map_ref=ref, transport=Transport(transport),
            device_id=raw.integer("device_id", 1, 247, default=1),
            sample_period_s=raw.number("sample_period_s", 0.05, 3600.0, default=1.0),
            timeout_s=raw.number("timeout_s", 0.01, 60.0, default=1.0),
            retries=raw.integer("retries", 0, 10, default=1),
        )
        if transport == "tcp":
            raw.forbid(("serial_port", "baudrate", "parity", "stopbits", "bytesize"), "transport = tcp")
            endpoint = cls(host=raw.text("host", default="127.0.0.1"),
                           port=raw.integer("port", 1, 65535, default=502), **common)
        else:
            raw.forbid(("host", "port"), "transport = rtu")
            endpoint = cls(serial_port=raw.text("serial_port"),
                           baudrate=raw.integer("baudrate", 300, 921600, default=9600),
                           parity=raw.choice("parity", PARITIES, default="N"),
                           stopbits=raw.integer("stopbits", 1, 2, default=1),
                           bytesize=raw.integer("bytesize", 7, 8, default=8), **common)
        raw.no_unknown()
        return endpoint


class _Fields:
    """Reads typed fields out of one meter table, remembering which were used."""

    def __init__(self, d: Mapping[str, Any], path: Path) -> None:
        if not isinstance(d, Mapping):
            raise ConfigError(f"{path}: a meter entry must be a table, got {type(d).__name__}")
        self.d, self.path = d, path
        self.label = f"meter {d['id']!r}" if isinstance(d.get("id"), str) else "meter (no id)"

    def fail(self, fld: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {self.label}: field {fld!r}: {problem}")

    def _get(self, fld: str, default: Any) -> Any:
        if fld in self.d:
            return self.d[fld]
        if default is None:
            raise self.fail(fld, "is required")
        return default

    def text(self, fld: str, default: str | None = None) -> str:
        value = self._get(fld, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(fld, f"must be a non-empty string, got {value!r}")
        return value

    def integer(self, fld: str, lo: int, hi: int, default: int | None = None) -> int:
        value = self._get(fld, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(fld, f"must be an integer {lo}..{hi}, got {value!r}")
        return value

    def number(self, fld: str, lo: float, hi: float, default: float | None = None) -> float:
        value = self._get(fld, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not lo <= value <= hi:
            raise self.fail(fld, f"must be a number {lo:g}..{hi:g}, got {value!r}")
        return float(value)

    def choice(self, fld: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self._get(fld, default)
        if value not in allowed:
            raise self.fail(fld, f"must be one of {', '.join(allowed)}; got {value!r}")
        return str(value)

    def forbid(self, fields: tuple[str, ...], why: str) -> None:
        for fld in fields:
            if fld in self.d:
                raise self.fail(fld, f"does not apply with {why}")

    def no_unknown(self) -> None:
        for key in self.d:
            if key not in FIELDS:
                raise self.fail(str(key), f"unknown field; allowed: {', '.join(sorted(FIELDS))}")
