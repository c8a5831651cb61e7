"""GATEWAY.toml: loaded once, validated into a `GatewayConfig`; every error names file and field.

```toml
gateway_id = "gw1"
key_file = "keys/gw1.key"          # relative paths are relative to this file
genesis = "genesis.json"
data_dir = "data/gw1"
mode = "edge"                      # or "direct" (exactly one meter)
nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]
metrics_listen = "127.0.0.1:9108"  # optional; "" turns the metrics endpoint off
interval_s = 60
close_delay_s = 2.0                # wait after an interval ends for its last samples
hold_s = 3600.0                    # longest wait for the value after a gap (40 CFR 75 HB/HA)
batch_max_readings = 500
outbox_warn_batches = 10000
log_level = "info"
[uplink]                           # optional: request_timeout_s, poll_interval_s, commit_timeout_s,
                                   # base_backoff_s, max_backoff_s, max_retry_after_s
[substitution.m1]                  # optional per meter: max_co2_pct, max_flow_m3_s (maximum potential)
[hj212]                            # optional forwarder to an authority platform
target = "127.0.0.1:9000"
pw = "123456"
[hj212.mn]                         # optional per meter MN; default: the meter id, letters and digits
m1 = "010000A8900016F000169DC0"
[[meters]]                         # parsed by MeterEndpoint.from_dict
id = "m1"
...
```
Every default and range is declared once, on `GatewayConfig`'s fields and those of the tables'
own types (`UplinkParams`, `MaxPotential`, `Hj212Forward`, `MeterEndpoint`), and read by the
shared `carbonlab.fields`; what a table cannot say about itself (a meter named in
`[substitution]` or `[hj212.mn]` must be in `[[meters]]`) is checked here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from carbonlab import fields as config_fields
from carbonlab.checks import shown, url_problem
from carbonlab.fields import FieldError, HostPort, spec
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.hj212 import mn_problem, pw_problem
from carbonlab.gateway.uplink import UplinkParams
from carbonlab.logs import LEVELS

MODES = ("edge", "direct")
TABLES = ("uplink", "substitution", "hj212", "meters")    # read apart, each by its own type


@dataclass(frozen=True, slots=True)
class MaxPotential:
    """`[substitution.<meter>]`: the meter's maximum potential concentration and flow (40 CFR 75
    Appendix A 2.1 and 2.1.2.1) used as the substitute value of last resort; unset: the meter's
    upper measurement range from genesis."""

    max_co2_pct: float | None = spec(None, lo=0.0, hi=100.0)
    max_flow_m3_s: float | None = spec(None, lo=0.0, hi=1e6)


@dataclass(frozen=True, slots=True)
class Hj212Forward:
    """`[hj212]`: the forwarder to an authority platform; `mn` is filled for every meter."""

    target: HostPort = spec(read=HostPort.parse)
    pw: str = spec("123456", check=pw_problem)
    mn: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.target.host

    @property
    def port(self) -> int:
        return self.target.port


def _node_urls(nodes: tuple[str, ...]) -> str | None:
    if not nodes:
        return "must be a non-empty list of http(s):// URLs, got []"
    for i, node in enumerate(nodes):
        problem = url_problem(node)
        if problem is not None:
            return f"[{i}]: {problem}"
        if node.rstrip("/") in (n.rstrip("/") for n in nodes[:i]):
            return f"[{i}]: {shown(node)} is given twice"
    return None


def _listen_or_off(value: str) -> str | None:
    if value == "":
        return None
    try:
        HostPort.parse(value)
    except ValueError:
        return f"must be \"host:port\" or \"\" (off), got {value!r}"
    return None


def _divides_an_hour(interval_s: int) -> str | None:
    return None if 3600 % interval_s == 0 else f"must divide an hour (3600 s) evenly, got {interval_s}"


@dataclass(frozen=True)
class GatewayConfig:
    path: Path
    gateway_id: str = spec()
    key_file: Path = spec()
    genesis: Path = spec()
    data_dir: Path = spec()
    nodes: tuple[str, ...] = spec(allow_empty=True, check=_node_urls)
    meters: tuple[MeterEndpoint, ...] = ()
    mode: str = spec("edge", choices=MODES)      # "direct": exactly one meter with its own uplink
    metrics_listen: str = spec("127.0.0.1:9108", allow_empty=True, check=_listen_or_off)
    interval_s: int = spec(60, lo=1, hi=3600, check=_divides_an_hour)
    close_delay_s: float = spec(2.0, lo=0.0, hi=600.0)
    hold_s: float = spec(3600.0, lo=0.0, hi=86_400.0 * 7)
    batch_max_readings: int = spec(500, lo=1, hi=1000)
    outbox_warn_batches: int = spec(10_000, lo=1, hi=10**9)
    log_level: str = spec("info", choices=LEVELS)
    uplink: UplinkParams = field(default_factory=UplinkParams)
    max_potential: dict[str, MaxPotential] = field(default_factory=dict)
    hj212: Hj212Forward | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gateway.db"

    def to_toml(self) -> str:
        """This config as GATEWAY.toml text that `load(self.path)` reads back into an equal config
        (paths under the file's folder are written relative to it). The gateway role and tests
        write the file with it."""
        base = self.path.parent
        doc: dict[str, Any] = {
            "gateway_id": self.gateway_id, "key_file": _relative(self.key_file, base),
            "genesis": _relative(self.genesis, base), "data_dir": _relative(self.data_dir, base),
            "mode": self.mode, "nodes": list(self.nodes),
            **{name: getattr(self, name) for name in SETTINGS},
        }
        uplink = _changed(self.uplink, UplinkParams())
        if uplink:
            doc["uplink"] = uplink
        substitution = {meter: _changed(mp, MaxPotential()) for meter, mp in self.max_potential.items()}
        if substitution:
            doc["substitution"] = substitution
        if self.hj212 is not None:
            doc["hj212"] = {"target": str(self.hj212.target), "pw": self.hj212.pw, "mn": dict(self.hj212.mn)}
        doc["meters"] = [m.to_table() for m in self.meters]
        return tomli_w.dumps(doc)


PATHS = ("key_file", "genesis", "data_dir")
SETTINGS = ("metrics_listen", "interval_s", "close_delay_s", "hold_s", "batch_max_readings",
            "outbox_warn_batches", "log_level")
FILE_FIELDS = ("gateway_id", *PATHS, "nodes", "mode", *SETTINGS)


def load(path: Path) -> GatewayConfig:
    try:
        return _parse(config_fields.document(path, "gateway config", syntax="toml"), path, str(path))
    except FieldError as exc:
        raise ConfigError(str(exc)) from None


def parse(raw: dict[str, Any], path: Path) -> GatewayConfig:
    """An already parsed GATEWAY.toml (the gateway role checks the inventory's instance with it)."""
    try:
        return _parse(raw, path, str(path))
    except FieldError as exc:
        raise ConfigError(str(exc)) from None


def _parse(raw: dict[str, Any], path: Path, file: str) -> GatewayConfig:
    checked = config_fields.values(GatewayConfig, raw, file=file, names=FILE_FIELDS, allowed=TABLES)
    meters_raw = raw.get("meters")
    if not isinstance(meters_raw, list) or not meters_raw:
        raise FieldError(file, "meters", "at least one [[meters]] table is required")
    meters = tuple(MeterEndpoint.from_dict(m, path) for m in meters_raw)
    ids = [m.id for m in meters]
    if len(set(ids)) != len(ids):
        raise FieldError(file, "meters", f"meter ids must be unique, got {ids}")
    if checked["mode"] == "direct" and len(meters) != 1:
        raise FieldError(file, "meters", f"mode = \"direct\" takes exactly one meter, got {len(meters)}")
    substitution = _table(raw, "substitution", file)
    for meter in substitution:
        if meter not in ids:
            raise FieldError(file, f"substitution.{meter}", f"no meter {meter!r} in [[meters]]")
    hj212 = _table(raw, "hj212", file)
    uplink = config_fields.build(UplinkParams, _table(raw, "uplink", file), file=file, prefix="uplink.")
    if uplink.base_backoff_s > uplink.max_backoff_s:
        raise FieldError(file, "uplink.base_backoff_s", f"must be at most uplink.max_backoff_s ("
                         f"{uplink.max_backoff_s:g}), got {uplink.base_backoff_s:g}")
    return GatewayConfig(
        path=path, **{**checked, **{name: path.parent / checked[name] for name in PATHS}}, meters=meters,
        uplink=uplink,
        max_potential={meter: config_fields.build(MaxPotential, table, file=file,
                                                  prefix=f"substitution.{meter}.")
                       for meter, table in substitution.items()},
        hj212=_hj212(hj212, file, ids) if hj212 else None,
    )


def _hj212(raw: dict[str, Any], file: str, meters: list[str]) -> Hj212Forward:
    forward = Hj212Forward(**config_fields.values(Hj212Forward, raw, file=file, prefix="hj212.",
                                                  names=("target", "pw"), allowed=("mn",)))
    mn = {m: "".join(ch for ch in m if ch.isalnum())[:24] for m in meters}   # default: the meter id
    for meter, value in _table(raw, "mn", file, "hj212.").items():
        if meter not in mn:
            raise FieldError(file, f"hj212.mn.{meter}", f"no meter {meter!r} in [[meters]]")
        problem = mn_problem(value) if isinstance(value, str) else f"must be a string, got {value!r}"
        if problem is not None:
            raise FieldError(file, f"hj212.mn.{meter}", problem)
        mn[meter] = value
    for meter, value in mn.items():
        if not value:
            raise FieldError(file, f"hj212.mn.{meter}", "meter id has no letter or digit; give an MN")
    return Hj212Forward(forward.target, forward.pw, mn)


def _table(raw: dict[str, Any], key: str, file: str, prefix: str = "") -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise FieldError(file, f"{prefix}{key}", f"must be a table, got {type(value).__name__}")
    return value


def _changed(value: Any, default: Any) -> dict[str, Any]:
    """The fields of a settings dataclass that differ from its defaults (what to_toml writes)."""
    return {f.name: getattr(value, f.name) for f in fields(value)
            if getattr(value, f.name) != getattr(default, f.name)}


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)
