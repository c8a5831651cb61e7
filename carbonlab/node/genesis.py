"""Genesis: the consortium's founding document, and the only source of who is who.

`genesis.json` names the chain, n and f, the timing and batching parameters, the
members (with their public keys and peer IDs), the gateways (with the meters each
may report for) and the meters (with plant, unit, stack and physical ranges). Its
hash is in block 0. It is loaded once, validated into these frozen objects, and
nothing further in the node reads the raw JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from carbonlab import jsonfile
from carbonlab.jsonfile import JsonFileError
from carbonlab.node import codec
from carbonlab.node.channels import GasChannel as GasChannel  # re-exported: the gateway's view
from carbonlab.node.channels import LoadChannels as LoadChannels
from carbonlab.node.channels import (
    gases_from_json,
    gases_json,
    load_from_json,
    load_json,
)
from carbonlab.node.crypto import PUBLIC_KEY_BYTES
from carbonlab.node.emissions import Co2Method, Gas
from carbonlab.node.errors import NodeError, SchemaError
from carbonlab.node.organisation import Company, check_meters, companies_from_json, companies_json
from carbonlab.node.schema import as_choice, as_dict, as_float, as_hex, as_int, as_list, as_str

ROLES = ("power-company", "emission-management", "verifier", "environmental-protection",
         "trading-centre")
MEASURES = ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa")
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "co2_pct": (0.0, 25.0), "o2_pct": (0.0, 21.0), "h2o_pct": (0.0, 40.0),
    "flow_m3_s": (0.0, 2000.0), "temp_c": (-40.0, 600.0), "pressure_kpa": (60.0, 140.0),
}


@dataclass(frozen=True, slots=True)
class Params:
    """Consensus timing and batching; every node uses the same values."""

    checkpoint_interval: int = 16        # K: a checkpoint every K sequence numbers
    watermark_window: int = 64           # L: sequence numbers in flight above the low watermark
    max_block_batches: int = 64          # batches in one block at most
    batch_delay_ms: int = 20             # how long the primary waits to fill a block
    request_timeout_ms: int = 2000       # a backup suspects the primary after this
    view_change_timeout_ms: int = 2000   # first new-view wait; doubles per failed view
    reading_interval_s: int = 60

    @classmethod
    def from_json(cls, value: Any, path: str) -> Params:
        names = tuple(cls.__dataclass_fields__)
        obj = as_dict(value, path, allowed=names)
        limits = {"checkpoint_interval": (1, 10_000), "watermark_window": (1, 100_000),
                  "max_block_batches": (1, 10_000), "batch_delay_ms": (0, 60_000),
                  "request_timeout_ms": (10, 600_000), "view_change_timeout_ms": (10, 600_000),
                  "reading_interval_s": (1, 3600)}
        values = {k: as_int(v, f"{path}.{k}", lo=limits[k][0], hi=limits[k][1])
                  for k, v in obj.items()}
        params = cls(**values)
        if params.watermark_window < 2 * params.checkpoint_interval:
            raise SchemaError(f"{path}.watermark_window",
                              "must be at least twice checkpoint_interval")
        return params


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    organisation: str
    role: str
    public_key: bytes
    peer_id: str = ""
    p2p_addr: str = ""
    api_url: str = ""


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    id: str
    public_key: bytes
    meters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MeterInfo:
    id: str
    company: str
    plant: str
    unit: str
    stack: str
    co2_basis: str = "wet"
    co2_method: Co2Method = Co2Method.DENSITY   # which CO2 density its readings follow
    ranges: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_RANGES))
    certificate: str = ""
    spike_ratio: float = 0.5        # relative change between intervals that marks a spike
    stuck_intervals: int = 5        # identical intervals in a row that mark a stuck value
    # wire-version-2 channels (carbonlab.node.channels): none unless genesis names them
    gases: dict[Gas, GasChannel] = field(default_factory=dict)
    load: LoadChannels = field(default_factory=LoadChannels)


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    n: int
    f: int
    params: Params
    members: tuple[Member, ...]
    gateways: tuple[GatewayInfo, ...]
    meters: tuple[MeterInfo, ...]
    companies: tuple[Company, ...] = ()     # the organisation hierarchy (node/organisation.py)

    @cached_property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.members)

    @cached_property
    def member_keys(self) -> dict[str, bytes]:
        return {m.id: m.public_key for m in self.members}

    @cached_property
    def gateway_by_id(self) -> dict[str, GatewayInfo]:
        return {g.id: g for g in self.gateways}

    @cached_property
    def meter_by_id(self) -> dict[str, MeterInfo]:
        return {m.id: m for m in self.meters}

    @property
    def quorum(self) -> int:
        return 2 * self.f + 1

    def primary_of(self, view: int) -> str:
        return self.members[view % self.n].id

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id, "n": self.n, "f": self.f, "params": asdict(self.params),
            "members": [{**asdict(m), "public_key": m.public_key.hex()} for m in self.members],
            "gateways": [{"id": g.id, "public_key": g.public_key.hex(), "meters": list(g.meters)}
                         for g in self.gateways],
            "meters": [_meter_json(m) for m in self.meters],
            # only when given, so a genesis written before the section keeps its hash
            **({"companies": companies_json(self.companies)} if self.companies else {}),
        }

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 over the canonical encoding of the JSON form (keys sorted)."""
        return codec.digest(_sorted_items(self.to_json()))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Genesis:
        try:
            raw = jsonfile.read(path)
        except JsonFileError as exc:
            raise NodeError(str(exc)) from None
        try:
            return cls.from_json(raw)
        except SchemaError as exc:
            raise NodeError(f"{path}: {exc}") from None

    @classmethod
    def from_json(cls, value: Any) -> Genesis:
        obj = as_dict(value, "genesis",
                      allowed=("chain_id", "n", "f", "params", "members", "gateways", "meters",
                               "companies"),
                      required=("chain_id", "n", "f", "members"))
        n = as_int(obj["n"], "genesis.n", lo=1, hi=1000)
        f = as_int(obj["f"], "genesis.f", lo=0, hi=333)
        if n != 3 * f + 1:
            raise SchemaError("genesis.n", f"must be 3f + 1 = {3 * f + 1} for f = {f}, got {n}")
        members = tuple(_member(m, f"genesis.members[{i}]")
                        for i, m in enumerate(as_list(obj["members"], "genesis.members")))
        if len(members) != n:
            raise SchemaError("genesis.members", f"expected n = {n} members, got {len(members)}")
        meters = tuple(_meter(m, f"genesis.meters[{i}]")
                       for i, m in enumerate(as_list(obj.get("meters", []), "genesis.meters")))
        gateways = tuple(_gateway(g, f"genesis.gateways[{i}]")
                         for i, g in enumerate(as_list(obj.get("gateways", []), "genesis.gateways")))
        _unique("genesis.members", [m.id for m in members])
        _unique("genesis.members (public_key)", [m.public_key.hex() for m in members])
        _unique("genesis.gateways", [g.id for g in gateways])
        _unique("genesis.meters", [m.id for m in meters])
        known = {m.id for m in meters}
        for i, g in enumerate(gateways):
            for j, meter in enumerate(g.meters):
                if meter not in known:
                    raise SchemaError(f"genesis.gateways[{i}].meters[{j}]",
                                      f"meter {meter!r} is not in genesis.meters")
        companies = companies_from_json(obj.get("companies", []), "genesis.companies")
        if companies:
            check_meters(companies, [(f"genesis.meters[{i}]", m.company, m.plant, m.unit)
                                     for i, m in enumerate(meters)],
                         {m.id: m.role for m in members}, "genesis.companies")
        return cls(
            chain_id=as_str(obj["chain_id"], "genesis.chain_id", max_len=64),
            n=n, f=f,
            params=Params.from_json(obj.get("params", {}), "genesis.params"),
            members=members, gateways=gateways, meters=meters, companies=companies,
        )


def _sorted_items(value: Any) -> Any:
    if isinstance(value, dict):
        return [[k, _sorted_items(value[k])] for k in sorted(value)]
    if isinstance(value, list | tuple):
        return [_sorted_items(v) for v in value]
    return value


def _unique(field_name: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise SchemaError(field_name, f"duplicate {value!r}")
        seen.add(value)


def _member(value: Any, path: str) -> Member:
    obj = as_dict(value, path, allowed=("id", "organisation", "role", "public_key", "peer_id",
                                        "p2p_addr", "api_url"),
                  required=("id", "organisation", "role", "public_key"))
    return Member(
        id=as_str(obj["id"], f"{path}.id", max_len=64),
        organisation=as_str(obj["organisation"], f"{path}.organisation"),
        role=as_choice(obj["role"], f"{path}.role", ROLES),
        public_key=as_hex(obj["public_key"], f"{path}.public_key", size=PUBLIC_KEY_BYTES),
        peer_id=as_str(obj.get("peer_id", ""), f"{path}.peer_id", allow_empty=True),
        p2p_addr=as_str(obj.get("p2p_addr", ""), f"{path}.p2p_addr", allow_empty=True),
        api_url=as_str(obj.get("api_url", ""), f"{path}.api_url", allow_empty=True),
    )


def _gateway(value: Any, path: str) -> GatewayInfo:
    obj = as_dict(value, path, allowed=("id", "public_key", "meters"),
                  required=("id", "public_key", "meters"))
    meters = as_list(obj["meters"], f"{path}.meters")
    return GatewayInfo(
        id=as_str(obj["id"], f"{path}.id", max_len=64),
        public_key=as_hex(obj["public_key"], f"{path}.public_key", size=PUBLIC_KEY_BYTES),
        meters=tuple(as_str(m, f"{path}.meters[{i}]", max_len=64) for i, m in enumerate(meters)),
    )


def _meter_json(m: MeterInfo) -> dict[str, Any]:
    out = {**asdict(m), "co2_method": m.co2_method.value,
           "ranges": {k: list(v) for k, v in m.ranges.items()},
           "gases": gases_json(m.gases), "load": load_json(m.load)}
    # defaults are left out, so a genesis written before the choice keeps its hash
    if m.co2_method is Co2Method.DENSITY:
        del out["co2_method"]
    for key in ("gases", "load"):
        if not out[key]:
            del out[key]
    return out


def _meter(value: Any, path: str) -> MeterInfo:
    fields = ("id", "company", "plant", "unit", "stack", "co2_basis", "co2_method", "ranges",
              "certificate", "spike_ratio", "stuck_intervals", "gases", "load")
    obj = as_dict(value, path, allowed=fields, required=("id", "company", "plant", "unit", "stack"))
    ranges = dict(DEFAULT_RANGES)
    for key, bounds in as_dict(obj.get("ranges", {}), f"{path}.ranges", allowed=MEASURES).items():
        pair = as_list(bounds, f"{path}.ranges.{key}", length=2)
        lo = as_float(pair[0], f"{path}.ranges.{key}[0]")
        hi = as_float(pair[1], f"{path}.ranges.{key}[1]")
        if lo >= hi:
            raise SchemaError(f"{path}.ranges.{key}", f"lower bound {lo} is not below {hi}")
        ranges[key] = (lo, hi)
    return MeterInfo(
        id=as_str(obj["id"], f"{path}.id", max_len=64),
        company=as_str(obj["company"], f"{path}.company"),
        plant=as_str(obj["plant"], f"{path}.plant"),
        unit=as_str(obj["unit"], f"{path}.unit"),
        stack=as_str(obj["stack"], f"{path}.stack"),
        co2_basis=as_choice(obj.get("co2_basis", "wet"), f"{path}.co2_basis", ("wet", "dry")),
        co2_method=Co2Method(as_choice(obj.get("co2_method", Co2Method.DENSITY.value),
                                       f"{path}.co2_method", [m.value for m in Co2Method])),
        ranges=ranges,
        certificate=as_str(obj.get("certificate", ""), f"{path}.certificate", allow_empty=True),
        spike_ratio=as_float(obj.get("spike_ratio", 0.5), f"{path}.spike_ratio"),
        stuck_intervals=as_int(obj.get("stuck_intervals", 5), f"{path}.stuck_intervals", lo=2),
        gases=gases_from_json(obj.get("gases", {}), f"{path}.gases"),
        load=load_from_json(obj.get("load", {}), f"{path}.load"),
    )
