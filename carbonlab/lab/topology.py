"""Topology: the one file that describes a lab, loaded once into frozen typed objects.

Every check happens here, at load; nothing further in reads the raw YAML. An error
names the file, the dotted field path and what is allowed (STYLE 9). Cross-field
rules (ids unique, n = 3f + 1, references resolve, no two services of a host on one
port) live in `topology_rules`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from carbonlab import fields
from carbonlab.emulation import ProfileSpec
from carbonlab.fields import FieldError, like, spec
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import builtin_map_names, load_register_map
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.names import DEFAULT_TOPOLOGY as DEFAULT_TOPOLOGY  # re-exported
from carbonlab.lab.names import PROVIDERS as PROVIDERS
from carbonlab.lab.topology_org import companies_of
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import ROLES, Params
from carbonlab.node.organisation import Company
from carbonlab.yamlfile import DuplicateKeyError, load_unique

GATEWAY_MODES = ("edge", "direct")
TRANSPORTS = ("tcp", "rtu")
ID = r"^[a-z][a-z0-9-]{0,30}$"
LAB_ID = r"^[a-z][a-z0-9]{0,7}$"   # short: it goes into interface names (15 chars)
LAB_NET = ipaddress.IPv4Network("198.18.0.0/15")   # the netns provider's lab networks
T = TypeVar("T")


def _port(default: int) -> Any:
    return spec(default, lo=1, hi=65535)


def _at_most_64(value: str) -> str | None:
    return None if len(value) <= 64 else f"must be at most 64 characters, got {len(value)}"


def _names_one(value: tuple[str, ...]) -> str | None:
    return None if value else "must name at least one member"


def _lab_subnet(value: str) -> str | None:
    """Empty (the provider picks a free /24), or a /24 inside LAB_NET."""
    if not value:
        return None
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError as exc:
        return f"{value!r} is not an IPv4 network ({exc})"
    if net.prefixlen != 24 or not net.subnet_of(LAB_NET):
        return f"must be a /24 inside {LAB_NET}, got {value!r}"
    return None


# Every field's default and rule is declared once, here; `parse` reads each table with
# `fields.values` (STYLE 9: one validator per field).
@dataclass(frozen=True, slots=True)
class Host:
    id: str = spec(pattern=ID)
    address: str = spec("", allow_empty=True)    # ssh provider: where to reach it
    user: str = spec("", allow_empty=True)       # ssh provider: login user (needs sudo)
    ssh_key: str = spec("", allow_empty=True)    # ssh provider: private key file on the controller
    ssh_port: int = _port(22)


@dataclass(frozen=True, slots=True)
class Member:
    id: str = spec(pattern=ID)
    organisation: str = spec()
    role: str = spec(choices=ROLES)
    host: str = spec()
    p2p_port: int = _port(4001)
    api_port: int = _port(8080)
    client_port: int = _port(8090)      # the organisation's web console (carbonlab client)


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str = spec(pattern=ID)
    mode: str = spec(choices=GATEWAY_MODES)
    host: str = spec()
    uplinks: tuple[str, ...] = spec(allow_empty=True, check=_names_one)   # the check: at least one
    interval_s: int = spec(60, lo=1, hi=3600)
    metrics_port: int = _port(9108)


# The meter models below take their defaults and ranges from the gateway's MeterEndpoint and
# the rig's ProfileSpec (`fields.like`): one rule per setting, checked here at load.
@dataclass(frozen=True, slots=True)
class EmulatedMeter:
    host: str
    register_map: str = spec("t100")
    port: int = spec(5020, lo=1, hi=65535)
    device_id: int = like(MeterEndpoint, "device_id")
    profile: tuple[tuple[str, Any], ...] = ()   # checked against ProfileSpec at load


@dataclass(frozen=True, slots=True)
class PhysicalMeter:
    transport: str = spec(choices=TRANSPORTS)
    address: str = spec("", allow_empty=True)
    port: int = like(MeterEndpoint, "port")
    device_id: int = like(MeterEndpoint, "device_id")
    register_map: str = spec("t100")
    serial_port: str = spec("", allow_empty=True)
    baudrate: int = like(MeterEndpoint, "baudrate")
    parity: str = like(MeterEndpoint, "parity")
    stopbits: int = like(MeterEndpoint, "stopbits")
    bytesize: int = like(MeterEndpoint, "bytesize")


@dataclass(frozen=True, slots=True)
class Meter:
    id: str = spec(pattern=ID)
    gateway: str = spec()
    company: str = spec()
    plant: str = spec()
    unit: str = spec()
    stack: str = spec()
    co2_basis: str = spec("wet", choices=("wet", "dry"))
    sample_period_s: float = like(MeterEndpoint, "sample_period_s")
    emulated: EmulatedMeter | None = None
    physical: PhysicalMeter | None = None

    @property
    def register_map(self) -> str:
        source = self.emulated or self.physical
        assert source is not None
        return source.register_map


@dataclass(frozen=True, slots=True)
class Prometheus:
    host: str = spec()
    port: int = _port(9090)
    scrape_interval_s: int = spec(5, lo=1, hi=300)


@dataclass(frozen=True, slots=True)
class Grafana:
    host: str = spec()
    port: int = _port(3000)
    enabled: bool = spec(True)


DEFAULT_BASE_PORT = 21000      # below Linux's ephemeral range (lab/ports.py)


@dataclass(frozen=True, slots=True)
class LocalSettings:
    base_port: int = spec(DEFAULT_BASE_PORT, lo=1024, hi=65000)
    ports_per_host: int = spec(40, lo=4, hi=1000)


@dataclass(frozen=True, slots=True)
class NetnsSettings:
    subnet: str = spec("", allow_empty=True, check=_lab_subnet)   # empty: the first free /24


@dataclass(frozen=True, kw_only=True)
class Topology:
    path: str
    lab_id: str = spec(pattern=LAB_ID)
    chain_id: str = spec("", check=_at_most_64)    # default: carbonlab-<lab_id>
    provider: str = spec("local", choices=PROVIDERS)
    params: Params
    local: LocalSettings = field(default_factory=LocalSettings)
    netns: NetnsSettings = field(default_factory=NetnsSettings)
    hosts: tuple[Host, ...]
    members: tuple[Member, ...]
    gateways: tuple[Gateway, ...]
    meters: tuple[Meter, ...]
    prometheus: Prometheus | None = None
    grafana: Grafana | None = None
    meters_control_port: int = _port(8099)
    raw_params: dict[str, Any] = field(default_factory=dict)
    companies: tuple[Company, ...] = ()   # lab/topology_org.py: given, or derived from the meters

    @property
    def f(self) -> int:
        return (len(self.members) - 1) // 3

    def host(self, host_id: str) -> Host:
        return next(h for h in self.hosts if h.id == host_id)

    def meters_of(self, gateway_id: str) -> tuple[Meter, ...]:
        return tuple(m for m in self.meters if m.gateway == gateway_id)

    def emulated_on(self, host_id: str) -> tuple[Meter, ...]:
        return tuple(m for m in self.meters if m.emulated and m.emulated.host == host_id)

    def meter_hosts(self) -> tuple[str, ...]:
        return tuple(h.id for h in self.hosts if self.emulated_on(h.id))


def load(path: Path) -> Topology:
    """Read and validate a topology file; raise TopologyError naming file, field and rule."""
    where = str(path)
    try:
        text = fields.document_text(path, "topology")   # bounded, UTF-8
    except fields.FieldError as exc:
        problem = exc.problem.replace("cannot read topology", "cannot read")
        raise TopologyError(where, "(file)", problem) from None
    try:
        raw = load_unique(text)     # a key given twice or an alias bomb is an error
    except DuplicateKeyError as exc:
        raise TopologyError(where, str(exc.key), str(exc.problem)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise TopologyError(where, "(file)", f"{line}not valid YAML") from None
    return parse(raw, where)


def parse(raw: Any, where: str) -> Topology:
    from carbonlab.lab.topology_rules import check

    try:
        topo = _topology(raw, where)
    except SchemaError as exc:
        raise TopologyError(where, exc.field.removeprefix("(top)."), exc.problem) from None
    except FieldError as exc:
        raise TopologyError(where, exc.field, exc.problem) from None
    check(topo)
    try:   # after the rules: the hierarchy is checked against meters and members known good
        return replace(topo, companies=companies_of(raw.get("companies"), topo))
    except SchemaError as exc:
        raise TopologyError(where, exc.field, exc.problem) from None


# The top level: settings read here, sections each read by their own function. A new optional
# section is a field of Topology, a name in SECTIONS and one entry in `_sections`.
SETTINGS = ("lab_id", "chain_id", "provider", "meters_control_port")
SECTIONS = ("params", "local", "netns", "hosts", "members", "gateways", "meters", "observability",
            "companies")   # companies: read after the rules, by lab/topology_org.py (see parse)
REQUIRED = ("lab_id", "hosts", "members", "gateways", "meters")


def _topology(raw: Any, where: str) -> Topology:
    top = fields.values(Topology, raw, file=where, names=SETTINGS, allowed=SECTIONS)
    for name in REQUIRED:
        if name not in raw:
            raise FieldError(where, name, "is required")
    chain_id = top.pop("chain_id") or f"carbonlab-{top['lab_id']}"
    return Topology(path=where, chain_id=chain_id, **top, **_sections(raw, where))


def _sections(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    params = raw.get("params", {})
    obs = raw.get("observability", {})   # a table of two optional sections: only their names here
    fields.values(Topology, obs, file=where, prefix="observability.", names=(),
                  allowed=("prometheus", "grafana"))
    return {
        "params": Params.from_json(params, "params"),
        "raw_params": dict(params),
        "local": fields.build(LocalSettings, raw.get("local", {}), file=where, prefix="local."),
        "netns": fields.build(NetnsSettings, raw.get("netns", {}), file=where, prefix="netns."),
        "hosts": _items(raw, "hosts", where, lambda item, path: _table(Host, item, path, where)),
        "members": _items(raw, "members", where, lambda item, path: _table(Member, item, path, where)),
        "gateways": _items(raw, "gateways", where, lambda item, path: _table(Gateway, item, path, where)),
        "meters": _items(raw, "meters", where, lambda item, path: _meter(item, path, where)),
        "prometheus": (_table(Prometheus, obs["prometheus"], "observability.prometheus", where)
                       if "prometheus" in obs else None),
        "grafana": (_table(Grafana, obs["grafana"], "observability.grafana", where)
                    if "grafana" in obs else None),
    }


def _table(cls: type[T], value: Any, path: str, where: str) -> T:
    return fields.build(cls, value, file=where, prefix=f"{path}.")


def _items(raw: Mapping[str, Any], section: str, where: str, read: Callable[[Any, str], T]) -> tuple[T, ...]:
    items = raw[section]
    if not isinstance(items, list):
        raise FieldError(where, section, f"must be a list, got {type(items).__name__}")
    return tuple(read(item, f"{section}[{i}]") for i, item in enumerate(items))


def _meter(value: Any, path: str, where: str) -> Meter:
    checked = fields.values(Meter, value, file=where, prefix=f"{path}.",
                            names=("id", "gateway", "company", "plant", "unit", "stack", "co2_basis",
                                   "sample_period_s"), allowed=("emulated", "physical"))
    if ("emulated" in value) == ("physical" in value):
        raise FieldError(where, path, "needs exactly one of 'emulated' (with a host) or 'physical' "
                                      "(with an address or serial port)")
    return Meter(
        **checked,
        emulated=_emulated(value["emulated"], f"{path}.emulated", where) if "emulated" in value else None,
        physical=_physical(value["physical"], f"{path}.physical", where) if "physical" in value else None,
    )


def _emulated(value: Any, path: str, where: str) -> EmulatedMeter:
    checked = fields.values(EmulatedMeter, value, file=where, prefix=f"{path}.",
                            names=("host", "register_map", "port", "device_id"), allowed=("profile",))
    _register_map(checked["register_map"], f"{path}.register_map", where)
    profile = value.get("profile", {})
    # checked now, not first on the meters host during provisioning
    fields.values(ProfileSpec, profile, file=where, prefix=f"{path}.profile.")
    return EmulatedMeter(**checked, profile=tuple(sorted(profile.items())))


def _physical(value: Any, path: str, where: str) -> PhysicalMeter:
    checked = fields.values(PhysicalMeter, value, file=where, prefix=f"{path}.")
    if checked["transport"] == "tcp" and "address" not in value:
        raise FieldError(where, f"{path}.address", "is required for transport tcp")
    if checked["transport"] == "rtu" and "serial_port" not in value:
        raise FieldError(where, f"{path}.serial_port", "is required for transport rtu")
    _register_map(checked["register_map"], f"{path}.register_map", where)
    return PhysicalMeter(**checked)


def _register_map(ref: str, field: str, where: str) -> None:
    """A built-in map's name, or a map file (relative: beside the topology, as the rig binds it)
    that reads as a register map: checked now, not first when a gateway or meter host starts."""
    if ref in builtin_map_names():
        return
    try:
        load_register_map(ref, base_dir=Path(where).parent)
    except ConfigError as exc:
        raise FieldError(where, field, str(exc)) from None
