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
serial device that exists (a physical line, or one end of a socat pty pair). Every default
and rule is declared once on `MetersConfig`, `BusSpec`, `MeterEndpoint` and `ProfileSpec` and
read by the shared `carbonlab.fields`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab import fields
from carbonlab.errors import CarbonlabError
from carbonlab.fields import FieldError, HostPort, like, spec
from carbonlab.gateway.endpoint import MeterEndpoint, Transport
from carbonlab.rig.meters.errors import MetersConfigError
from carbonlab.rig.meters.profile import ProfileSpec

TABLES = ("serial_buses", "meters")
BUS_FIELDS = ("gateway_link", "baudrate", "paced", "bits_per_char")


@dataclass(frozen=True, slots=True)
class BusSpec:
    """`serial_buses.<meter-side path>`: a serial line this process creates (a pty pair and a relay)."""

    meter_link: Path
    gateway_link: Path = spec()
    baudrate: int = like(MeterEndpoint, "baudrate")   # a bus runs at a rate its meters accept
    paced: bool = spec(True)
    bits_per_char: int = spec(10, lo=9, hi=12)         # start, 7..8 data, parity, 1..2 stop bits


@dataclass(frozen=True, slots=True)
class MeterSpec:
    endpoint: MeterEndpoint
    profile: ProfileSpec
    seed: int


def _one_address(address: HostPort | None) -> str | None:
    """The control endpoint injects faults and has no authentication: it binds one address,
    never every interface. Loopback for meters on the rig's own machine; the host's own address
    on a lab network (a netns host's 198.18.x.y, a real host's lab address) where the rig on the
    controller must reach it."""
    if address is None or address.host == "localhost":
        return None
    try:
        ip = ipaddress.ip_address(address.host)
    except ValueError:
        return (f"must be an IP address (or localhost), not the name {address.host!r}: the fault "
                f"control endpoint binds one address; got {address}")
    if ip.is_unspecified or ip.is_multicast:
        return (f"must be one address (loopback, or the host's lab address), not {ip} (every "
                f"interface): the fault control endpoint has no authentication; got {address}")
    return None


@dataclass(frozen=True, slots=True)
class MetersConfig:
    path: Path
    seed: int = spec(0)
    truth_dir: Path | None = spec(None)           # relative to the file
    control: HostPort | None = spec(None, key="control_listen", read=HostPort.parse, check=_one_address)
    buses: tuple[BusSpec, ...] = ()
    meters: tuple[MeterSpec, ...] = ()


def meter_seed(seed: int, meter_id: str) -> int:
    """Independent of the meter's position in the file."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{meter_id}".encode()).digest()[:8], "big")


def load_meters_config(path: Path) -> MetersConfig:
    try:
        return _parse(fields.document(path, "meters config", syntax="yaml"), path, str(path))
    except FieldError as exc:
        raise MetersConfigError(str(exc)) from None


def parse_meters_config(raw: Any, path: Path) -> MetersConfig:
    try:
        return _parse(raw, path, str(path))
    except FieldError as exc:
        raise MetersConfigError(str(exc)) from None


def _parse(raw: Any, path: Path, file: str) -> MetersConfig:
    top = fields.values(MetersConfig, raw, file=file, names=("seed", "truth_dir", "control"), allowed=TABLES)
    if top["truth_dir"] is not None:
        top["truth_dir"] = path.parent / top["truth_dir"]
    buses_raw = raw.get("serial_buses") or {}
    if not isinstance(buses_raw, Mapping):
        raise FieldError(file, "serial_buses", f"must map a meter-side path to {{{', '.join(BUS_FIELDS)}}}")
    buses = tuple(BusSpec(Path(link), **fields.values(BusSpec, body, file=file, names=BUS_FIELDS,
                                                      prefix=f"serial_buses.{link}."))
                  for link, body in buses_raw.items())
    entries = raw.get("meters")
    if not isinstance(entries, list) or not entries:
        raise FieldError(file, "meters", "must be a non-empty list of meter tables")
    meters = tuple(_meter(e, i, path, top["seed"]) for i, e in enumerate(entries))
    _check_unique(meters, buses, file)
    return MetersConfig(path, buses=buses, meters=meters, **top)


def _meter(entry: Any, index: int, path: Path, seed: int) -> MeterSpec:
    where = f"meters[{index}]"
    if not isinstance(entry, Mapping):
        raise FieldError(str(path), where, "must be a table")
    table = dict(entry)
    profile_raw = table.pop("profile", None)
    profile = ProfileSpec() if profile_raw is None else \
        fields.build(ProfileSpec, profile_raw, file=str(path), prefix=f"{where}.profile.")
    try:
        endpoint = MeterEndpoint.from_dict(table, path)
    except CarbonlabError as exc:
        raise MetersConfigError(f"{where}: {exc}") from exc
    return MeterSpec(endpoint, profile, meter_seed(seed, endpoint.id))


def _check_unique(meters: tuple[MeterSpec, ...], buses: tuple[BusSpec, ...], file: str) -> None:
    ids: set[str] = set()
    places: set[tuple[str, int]] = set()
    for m in meters:
        e = m.endpoint
        if e.id in ids:
            raise FieldError(file, "meters", f"meter id {e.id!r} appears twice")
        ids.add(e.id)
        place = (f"{e.host}:{e.port}", 0) if e.transport is Transport.TCP else (e.serial_port, e.device_id)
        if place in places:
            raise FieldError(file, f"meters[{e.id}]", f"{place[0]} (device {e.device_id}) is already taken")
        places.add(place)
    known = {str(b.meter_link) for b in buses}
    for m in meters:
        e = m.endpoint
        if e.transport is Transport.RTU and e.serial_port not in known and not Path(e.serial_port).exists():
            raise FieldError(file, f"meters[{e.id}].serial_port",
                             f"{e.serial_port} is neither a bus in serial_buses "
                             f"({', '.join(sorted(known)) or 'none'}) nor an existing serial device")
