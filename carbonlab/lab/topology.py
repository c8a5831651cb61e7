"""Topology: the one file that describes a lab, loaded once into frozen typed objects.

Every check happens here, at load; nothing further in reads the raw YAML. An error
names the file, the dotted field path and what is allowed (STYLE 9). Cross-field
rules (ids unique, n = 3f + 1, references resolve, no two services of a host on one
port) live in `topology_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from carbonlab import fields
from carbonlab.emulation import ProfileSpec
from carbonlab.fields import FieldError, like, spec
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.yamlfile import DuplicateKeyError, load_unique
from carbonlab.lab.errors import TopologyError
from carbonlab.lab.names import DEFAULT_TOPOLOGY as DEFAULT_TOPOLOGY  # re-exported
from carbonlab.lab.names import PROVIDERS as PROVIDERS
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import ROLES, Params
from carbonlab.node.schema import as_bool, as_choice, as_dict, as_int, as_list, as_str

GATEWAY_MODES = ("edge", "direct")
TRANSPORTS = ("tcp", "rtu")
ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
LAB_ID_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")   # short: it goes into interface names (15 chars)


@dataclass(frozen=True, slots=True)
class Host:
    id: str
    address: str = ""          # ssh provider: where to reach it
    user: str = ""             # ssh provider: login user (needs sudo)
    ssh_key: str = ""          # ssh provider: private key file on the controller
    ssh_port: int = 22


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    organisation: str
    role: str
    host: str
    p2p_port: int = 4001
    api_port: int = 8080


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str
    mode: str
    host: str
    uplinks: tuple[str, ...]
    interval_s: int = 60
    metrics_port: int = 9108


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
    id: str
    gateway: str
    company: str
    plant: str
    unit: str
    stack: str
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
    host: str
    port: int = 9090
    scrape_interval_s: int = 5


@dataclass(frozen=True, slots=True)
class Grafana:
    host: str
    port: int = 3000
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class LocalSettings:
    base_port: int = 21000
    ports_per_host: int = 40


@dataclass(frozen=True, slots=True)
class NetnsSettings:
    subnet: str = ""            # a /24 inside 198.18.0.0/15; empty: the first free one


@dataclass(frozen=True)
class Topology:
    path: str
    lab_id: str
    chain_id: str
    provider: str
    params: Params
    local: LocalSettings
    netns: NetnsSettings
    hosts: tuple[Host, ...]
    members: tuple[Member, ...]
    gateways: tuple[Gateway, ...]
    meters: tuple[Meter, ...]
    prometheus: Prometheus | None = None
    grafana: Grafana | None = None
    meters_control_port: int = 8099
    raw_params: dict[str, Any] = field(default_factory=dict)

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
        raw = load_unique(path.read_text())     # a key given twice is an error, not the last one wins
    except OSError as exc:
        raise TopologyError(where, "(file)", f"cannot read ({exc.strerror})") from None
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
    return topo


def _id(value: Any, path: str, pattern: re.Pattern[str] = ID_RE) -> str:
    text = as_str(value, path, max_len=64)
    if not pattern.match(text):
        raise SchemaError(path, f"{text!r} must match {pattern.pattern}")
    return text


def _port(value: Any, path: str) -> int:
    return as_int(value, path, lo=1, hi=65535)


def _topology(raw: Any, where: str) -> Topology:
    top = as_dict(raw, "(top)",
                  allowed=("lab_id", "chain_id", "provider", "params", "local", "netns", "hosts",
                           "members", "gateways", "meters", "observability", "meters_control_port"),
                  required=("lab_id", "hosts", "members", "gateways", "meters"))
    lab_id = _id(top["lab_id"], "lab_id", LAB_ID_RE)
    params_raw = as_dict(top.get("params", {}), "params")
    local = as_dict(top.get("local", {}), "local", allowed=("base_port", "ports_per_host"))
    netns = as_dict(top.get("netns", {}), "netns", allowed=("subnet",))
    obs = as_dict(top.get("observability", {}), "observability", allowed=("prometheus", "grafana"))
    return Topology(
        path=where,
        lab_id=lab_id,
        chain_id=as_str(top.get("chain_id", f"carbonlab-{lab_id}"), "chain_id", max_len=64),
        provider=as_choice(top.get("provider", "local"), "provider", PROVIDERS),
        params=Params.from_json(params_raw, "params"),
        raw_params=dict(params_raw),
        local=LocalSettings(
            base_port=as_int(local.get("base_port", 21000), "local.base_port", lo=1024, hi=65000),
            ports_per_host=as_int(local.get("ports_per_host", 40), "local.ports_per_host",
                                  lo=4, hi=1000)),
        netns=NetnsSettings(subnet=as_str(netns.get("subnet", ""), "netns.subnet",
                                          allow_empty=True)),
        hosts=tuple(_host(h, f"hosts[{i}]") for i, h in enumerate(as_list(top["hosts"], "hosts"))),
        members=tuple(_member(m, f"members[{i}]")
                      for i, m in enumerate(as_list(top["members"], "members"))),
        gateways=tuple(_gateway(g, f"gateways[{i}]")
                       for i, g in enumerate(as_list(top["gateways"], "gateways"))),
        meters=tuple(_meter(m, f"meters[{i}]", where)
                     for i, m in enumerate(as_list(top["meters"], "meters"))),
        prometheus=_prometheus(obs["prometheus"]) if "prometheus" in obs else None,
        grafana=_grafana(obs["grafana"]) if "grafana" in obs else None,
        meters_control_port=_port(top.get("meters_control_port", 8099), "meters_control_port"),
    )


def _host(value: Any, path: str) -> Host:
    obj = as_dict(value, path, allowed=("id", "address", "user", "ssh_key", "ssh_port"),
                  required=("id",))
    return Host(
        id=_id(obj["id"], f"{path}.id"),
        address=as_str(obj.get("address", ""), f"{path}.address", allow_empty=True),
        user=as_str(obj.get("user", ""), f"{path}.user", allow_empty=True),
        ssh_key=as_str(obj.get("ssh_key", ""), f"{path}.ssh_key", allow_empty=True),
        ssh_port=_port(obj.get("ssh_port", 22), f"{path}.ssh_port"),
    )


def _member(value: Any, path: str) -> Member:
    obj = as_dict(value, path, allowed=("id", "organisation", "role", "host", "p2p_port", "api_port"),
                  required=("id", "organisation", "role", "host"))
    return Member(
        id=_id(obj["id"], f"{path}.id"),
        organisation=as_str(obj["organisation"], f"{path}.organisation"),
        role=as_choice(obj["role"], f"{path}.role", ROLES),
        host=as_str(obj["host"], f"{path}.host"),
        p2p_port=_port(obj.get("p2p_port", 4001), f"{path}.p2p_port"),
        api_port=_port(obj.get("api_port", 8080), f"{path}.api_port"),
    )


def _gateway(value: Any, path: str) -> Gateway:
    obj = as_dict(value, path, allowed=("id", "mode", "host", "uplinks", "interval_s", "metrics_port"),
                  required=("id", "mode", "host", "uplinks"))
    uplinks = as_list(obj["uplinks"], f"{path}.uplinks")
    if not uplinks:
        raise SchemaError(f"{path}.uplinks", "must name at least one member")
    return Gateway(
        id=_id(obj["id"], f"{path}.id"),
        mode=as_choice(obj["mode"], f"{path}.mode", GATEWAY_MODES),
        host=as_str(obj["host"], f"{path}.host"),
        uplinks=tuple(as_str(u, f"{path}.uplinks[{j}]") for j, u in enumerate(uplinks)),
        interval_s=as_int(obj.get("interval_s", 60), f"{path}.interval_s", lo=1, hi=3600),
        metrics_port=_port(obj.get("metrics_port", 9108), f"{path}.metrics_port"),
    )


def _meter(value: Any, path: str, where: str) -> Meter:
    obj = as_dict(value, path)
    if ("emulated" in obj) == ("physical" in obj):
        raise SchemaError(path, "needs exactly one of 'emulated' (with a host) or 'physical' "
                                "(with an address or serial port)")
    checked = fields.values(Meter, obj, file=where, prefix=f"{path}.",
                            names=("id", "gateway", "company", "plant", "unit", "stack", "co2_basis",
                                   "sample_period_s"), allowed=("emulated", "physical"))
    return Meter(
        **{**checked, "id": _id(checked["id"], f"{path}.id")},
        emulated=_emulated(obj["emulated"], f"{path}.emulated", where) if "emulated" in obj else None,
        physical=_physical(obj["physical"], f"{path}.physical", where) if "physical" in obj else None,
    )


def _emulated(value: Any, path: str, where: str) -> EmulatedMeter:
    obj = as_dict(value, path)
    checked = fields.values(EmulatedMeter, obj, file=where, prefix=f"{path}.",
                            names=("host", "register_map", "port", "device_id"), allowed=("profile",))
    profile = obj.get("profile", {})
    # checked now, not first on the meters host during provisioning
    fields.values(ProfileSpec, profile, file=where, prefix=f"{path}.profile.")
    return EmulatedMeter(**checked, profile=tuple(sorted(profile.items())))


def _physical(value: Any, path: str, where: str) -> PhysicalMeter:
    obj = as_dict(value, path)
    checked = fields.values(PhysicalMeter, obj, file=where, prefix=f"{path}.")
    if checked["transport"] == "tcp" and "address" not in obj:
        raise SchemaError(f"{path}.address", "is required for transport tcp")
    if checked["transport"] == "rtu" and "serial_port" not in obj:
        raise SchemaError(f"{path}.serial_port", "is required for transport rtu")
    return PhysicalMeter(**checked)


def _prometheus(value: Any) -> Prometheus:
    obj = as_dict(value, "observability.prometheus", allowed=("host", "port", "scrape_interval_s"),
                  required=("host",))
    return Prometheus(
        host=as_str(obj["host"], "observability.prometheus.host"),
        port=_port(obj.get("port", 9090), "observability.prometheus.port"),
        scrape_interval_s=as_int(obj.get("scrape_interval_s", 5),
                                 "observability.prometheus.scrape_interval_s", lo=1, hi=300),
    )


def _grafana(value: Any) -> Grafana:
    obj = as_dict(value, "observability.grafana", allowed=("host", "port", "enabled"),
                  required=("host",))
    return Grafana(
        host=as_str(obj["host"], "observability.grafana.host"),
        port=_port(obj.get("port", 3000), "observability.grafana.port"),
        enabled=as_bool(obj.get("enabled", True), "observability.grafana.enabled"),
    )
