"""METERS.yaml: what one meters process serves. Loaded once into typed objects; every error
names the file, the field and what is allowed.

```yaml
seed: 42
truth_dir: truth/                  # one JSONL truth log per meter (relative to this file)
control_listen: 127.0.0.1:7020     # optional: the fault control endpoint
serial_buses:                      # optional: serial lines this process creates (pty + relay)
  /tmp/cl-bus1: {baudrate: 9600, paced: true, gateway_link: /tmp/cl-bus1-gw}
meters:
  - {id: m1, register_map: t100, transport: tcp, host: 127.0.0.1, port: 5020, device_id: 1,
     profile: {capacity_mw: 600, co2_basis: wet}}
  - {id: m2, register_map: daq_4_20ma, transport: rtu, serial_port: /tmp/cl-bus1, device_id: 2}
```
A meter entry takes the fields of a gateway `[[meters]]` table (`MeterEndpoint.from_dict`)
plus `profile`. An RTU meter whose `serial_port` is not a bus listed here must name a
serial device that exists (a physical line, or one end of a socat pty pair).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from carbonlab import fields
from carbonlab.errors import CarbonlabError
from carbonlab.fields import FieldError
from carbonlab.gateway.endpoint import MeterEndpoint, Transport
from carbonlab.rig.meters.errors import MetersConfigError
from carbonlab.rig.meters.profile import ProfileSpec

TOP = {"seed", "truth_dir", "control_listen", "serial_buses", "meters"}
BUS_FIELDS = {"baudrate", "paced", "gateway_link", "bits_per_char"}


@dataclass(frozen=True, slots=True)
class BusSpec:
    meter_link: Path
    gateway_link: Path
    baudrate: int = 9600
    paced: bool = True
    bits_per_char: int = 10


@dataclass(frozen=True, slots=True)
class MeterSpec:
    endpoint: MeterEndpoint
    profile: ProfileSpec
    seed: int


@dataclass(frozen=True, slots=True)
class MetersConfig:
    path: Path
    seed: int
    truth_dir: Path | None
    control: tuple[str, int] | None
    buses: tuple[BusSpec, ...]
    meters: tuple[MeterSpec, ...]


def meter_seed(seed: int, meter_id: str) -> int:
    """Independent of the meter's position in the file."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{meter_id}".encode()).digest()[:8], "big")


def load_meters_config(path: Path) -> MetersConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MetersConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_meters_config(raw, path)


def _fail(path: Path, fld: str, problem: str) -> MetersConfigError:
    return MetersConfigError(f"{path}: field {fld!r}: {problem}")


def parse_meters_config(raw: Any, path: Path) -> MetersConfig:
    if not isinstance(raw, Mapping):
        raise MetersConfigError(f"{path}: must be a mapping with {', '.join(sorted(TOP))}")
    for key in raw:
        if key not in TOP:
            raise _fail(path, str(key), f"unknown field; allowed: {', '.join(sorted(TOP))}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail(path, "seed", f"must be an integer, got {seed!r}")
    truth_dir = None
    if raw.get("truth_dir") is not None:
        if not isinstance(raw["truth_dir"], str):
            raise _fail(path, "truth_dir", f"must be a path, got {raw['truth_dir']!r}")
        truth_dir = path.parent / raw["truth_dir"]
    control = _listen(raw.get("control_listen"), path) if raw.get("control_listen") else None
    buses = _buses(raw.get("serial_buses") or {}, path)
    entries = raw.get("meters")
    if not isinstance(entries, list) or not entries:
        raise _fail(path, "meters", "must be a non-empty list of meter tables")
    meters = tuple(_meter(e, i, path, seed) for i, e in enumerate(entries))
    _check_unique(meters, buses, path)
    return MetersConfig(path, seed, truth_dir, control, buses, meters)


def _listen(value: Any, path: Path) -> tuple[str, int]:
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise _fail(path, "control_listen", f"must be HOST:PORT, got {value!r}")
    return host, int(port)


def _buses(raw: Any, path: Path) -> tuple[BusSpec, ...]:
    if not isinstance(raw, Mapping):
        raise _fail(path, "serial_buses", "must map a meter-side path to {baudrate, paced, gateway_link}")
    out = []
    for link, body in raw.items():
        fld = f"serial_buses.{link}"
        if not isinstance(body, Mapping) or "gateway_link" not in body:
            raise _fail(path, fld, "must be a table with at least gateway_link")
        for key in body:
            if key not in BUS_FIELDS:
                raise _fail(path, f"{fld}.{key}", f"unknown field; allowed: {', '.join(sorted(BUS_FIELDS))}")
        try:   # a bus runs at a rate its meters accept: the same rule as a meter's baudrate
            baud = fields.check(MeterEndpoint, "baudrate", body.get("baudrate", 9600), file=str(path),
                                field=f"{fld}.baudrate")
        except FieldError as exc:
            raise _fail(path, exc.field, exc.problem) from None
        paced = body.get("paced", True)
        if not isinstance(paced, bool):
            raise _fail(path, f"{fld}.paced", f"must be true or false, got {paced!r}")
        out.append(BusSpec(Path(link), Path(str(body["gateway_link"])), baud, paced,
                           int(body.get("bits_per_char", 10))))
    return tuple(out)


def _profile(raw: Any, path: Path, where: str) -> ProfileSpec:
    if raw is None:
        return ProfileSpec()
    try:
        return fields.build(ProfileSpec, raw, file=str(path), prefix=f"{where}.")
    except FieldError as exc:
        raise _fail(path, exc.field, exc.problem) from None


def _meter(entry: Any, index: int, path: Path, seed: int) -> MeterSpec:
    if not isinstance(entry, Mapping):
        raise _fail(path, f"meters[{index}]", "must be a table")
    fields = dict(entry)
    profile = _profile(fields.pop("profile", None), path, f"meters[{index}].profile")
    try:
        endpoint = MeterEndpoint.from_dict(fields, path)
    except CarbonlabError as exc:
        raise MetersConfigError(f"meters[{index}]: {exc}") from exc
    return MeterSpec(endpoint, profile, meter_seed(seed, endpoint.id))


def _check_unique(meters: tuple[MeterSpec, ...], buses: tuple[BusSpec, ...], path: Path) -> None:
    ids: set[str] = set()
    places: set[tuple[str, int]] = set()
    for m in meters:
        e = m.endpoint
        if e.id in ids:
            raise _fail(path, "meters", f"meter id {e.id!r} appears twice")
        ids.add(e.id)
        place = (f"{e.host}:{e.port}", 0) if e.transport is Transport.TCP else (e.serial_port, e.device_id)
        if place in places:
            raise _fail(path, f"meters[{e.id}]", f"{place[0]} (device {e.device_id}) is already taken")
        places.add(place)
    known = {str(b.meter_link) for b in buses}
    for m in meters:
        e = m.endpoint
        if e.transport is Transport.RTU and e.serial_port not in known and not Path(e.serial_port).exists():
            raise _fail(path, f"meters[{e.id}].serial_port",
                        f"{e.serial_port} is neither a bus in serial_buses "
                        f"({', '.join(sorted(known)) or 'none'}) nor an existing serial device")
