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
                                   # base_backoff_s, max_backoff_s
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
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from carbonlab import fields
from carbonlab.fields import FieldError, spec
from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.uplink import UplinkParams

TOP = {"gateway_id", "key_file", "genesis", "data_dir", "mode", "nodes", "metrics_listen",
       "interval_s", "close_delay_s", "hold_s", "batch_max_readings", "outbox_warn_batches",
       "log_level", "uplink", "substitution", "hj212", "meters"}
MODES = ("edge", "direct")
LOG_LEVELS = ("debug", "info", "warning", "error")
SETTINGS = ("interval_s", "close_delay_s", "hold_s", "batch_max_readings", "outbox_warn_batches", "log_level")


@dataclass(frozen=True, slots=True)
class Hj212Forward:
    host: str
    port: int
    pw: str
    mn: dict[str, str]


@dataclass(frozen=True)
class GatewayConfig:
    path: Path
    gateway_id: str
    key_file: Path
    genesis: Path
    data_dir: Path
    mode: str
    nodes: tuple[str, ...]
    meters: tuple[MeterEndpoint, ...]
    metrics_listen: str = "127.0.0.1:9108"
    interval_s: int = spec(60, lo=1, hi=3600)
    close_delay_s: float = spec(2.0, lo=0.0, hi=600.0)
    hold_s: float = spec(3600.0, lo=0.0, hi=86_400.0 * 7)
    batch_max_readings: int = spec(500, lo=1, hi=1000)
    outbox_warn_batches: int = spec(10_000, lo=1, hi=10**9)
    log_level: str = spec("info", choices=LOG_LEVELS)
    uplink: UplinkParams = field(default_factory=UplinkParams)
    max_potential: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
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
            "mode": self.mode, "nodes": list(self.nodes), "metrics_listen": self.metrics_listen,
            "interval_s": self.interval_s, "close_delay_s": self.close_delay_s, "hold_s": self.hold_s,
            "batch_max_readings": self.batch_max_readings, "outbox_warn_batches": self.outbox_warn_batches,
            "log_level": self.log_level,
        }
        default = UplinkParams()
        uplink = {k: getattr(self.uplink, k) for k in UplinkParams.__dataclass_fields__
                  if getattr(self.uplink, k) != getattr(default, k)}
        if uplink:
            doc["uplink"] = uplink
        substitution = {meter: {k: v for k, v in (("max_co2_pct", co2), ("max_flow_m3_s", flow))
                                if v is not None}
                        for meter, (co2, flow) in self.max_potential.items()}
        if substitution:
            doc["substitution"] = substitution
        if self.hj212 is not None:
            doc["hj212"] = {"target": f"{self.hj212.host}:{self.hj212.port}", "pw": self.hj212.pw,
                            "mn": dict(self.hj212.mn)}
        doc["meters"] = [m.to_table() for m in self.meters]
        return tomli_w.dumps(doc)


def load(path: Path) -> GatewayConfig:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read gateway config ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse(raw, path)


def parse(raw: dict[str, Any], path: Path) -> GatewayConfig:
    f = _Reader(raw, path, "")
    for key in raw:
        if key not in TOP:
            raise f.fail(key, f"unknown field; allowed: {', '.join(sorted(TOP))}")
    base = path.parent
    mode = f.choice("mode", MODES, "edge")
    nodes = f.get("nodes", None)
    if not isinstance(nodes, list) or not nodes or not all(
            isinstance(n, str) and n.startswith(("http://", "https://")) for n in nodes):
        raise f.fail("nodes", f"must be a non-empty list of http(s):// URLs, got {nodes!r}")
    meters_raw = f.get("meters", None)
    if not isinstance(meters_raw, list) or not meters_raw:
        raise f.fail("meters", "at least one [[meters]] table is required")
    meters = tuple(MeterEndpoint.from_dict(m, path) for m in meters_raw)
    ids = [m.id for m in meters]
    if len(set(ids)) != len(ids):
        raise f.fail("meters", f"meter ids must be unique, got {ids}")
    if mode == "direct" and len(meters) != 1:
        raise f.fail("meters", f"mode = \"direct\" takes exactly one meter, got {len(meters)}")
    try:   # the settings with a declared default and range (GatewayConfig's fields)
        settings = fields.values(GatewayConfig, raw, file=str(path), names=SETTINGS, allowed=TOP)
    except FieldError as exc:
        raise ConfigError(str(exc)) from None
    if 3600 % settings["interval_s"]:
        raise f.fail("interval_s", f"must divide an hour (3600 s) evenly, got {settings['interval_s']}")
    return GatewayConfig(
        path=path,
        gateway_id=f.text("gateway_id", None),
        key_file=base / f.text("key_file", None),
        genesis=base / f.text("genesis", None),
        data_dir=base / f.text("data_dir", None),
        mode=mode, nodes=tuple(nodes), meters=meters,
        metrics_listen=_listen(f, "metrics_listen", "127.0.0.1:9108"),
        **settings,
        uplink=_uplink(f.table("uplink"), path),
        max_potential=_substitution(f.table("substitution"), path, set(ids)),
        hj212=_hj212(f.table("hj212"), path, ids),
    )


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)


def _uplink(raw: dict[str, Any], path: Path) -> UplinkParams:
    f = _Reader(raw, path, "uplink.")
    d = UplinkParams()
    names = UplinkParams.__dataclass_fields__
    for key in raw:
        if key not in names:
            raise f.fail(key, f"unknown field; allowed: {', '.join(names)}")
    return UplinkParams(**{k: f.number(k, getattr(d, k), 0.001, 3600.0) for k in names})


def _substitution(raw: dict[str, Any], path: Path,
                  meters: set[str]) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for meter, table in raw.items():
        if meter not in meters:
            raise ConfigError(f"{path}: field 'substitution.{meter}': no meter {meter!r} in [[meters]]")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: field 'substitution.{meter}': must be a table")
        f = _Reader(table, path, f"substitution.{meter}.")
        for key in table:
            if key not in ("max_co2_pct", "max_flow_m3_s"):
                raise f.fail(key, "unknown field; allowed: max_co2_pct, max_flow_m3_s")
        out[meter] = (f.number("max_co2_pct", None, 0.0, 100.0) if "max_co2_pct" in table else None,
                      f.number("max_flow_m3_s", None, 0.0, 1e6) if "max_flow_m3_s" in table else None)
    return out


def _hj212(raw: dict[str, Any], path: Path, meters: list[str]) -> Hj212Forward | None:
    if not raw:
        return None
    f = _Reader(raw, path, "hj212.")
    for key in raw:
        if key not in ("target", "pw", "mn"):
            raise f.fail(key, "unknown field; allowed: target, pw, mn")
    host, port = _hostport(f, "target", f.text("target", None))
    pw = f.text("pw", "123456")
    if len(pw) != 6:
        raise f.fail("pw", f"HJ 212 passwords are 6 characters, got {pw!r}")
    mn_raw = f.table("mn")
    mn = {m: "".join(ch for ch in m if ch.isalnum())[:24] for m in meters}
    for meter, value in mn_raw.items():
        if meter not in mn:
            raise f.fail(f"mn.{meter}", f"no meter {meter!r} in [[meters]]")
        if not isinstance(value, str) or not value.isalnum() or not 1 <= len(value) <= 24:
            raise f.fail(f"mn.{meter}", f"must be 1-24 letters or digits, got {value!r}")
        mn[meter] = value
    for meter, value in mn.items():
        if not value:
            raise f.fail(f"mn.{meter}", "meter id has no letter or digit; give an MN")
    return Hj212Forward(host, port, pw, mn)


def _listen(f: _Reader, key: str, default: str) -> str:
    value = f.get(key, default)
    if value == "":
        return ""
    if not isinstance(value, str):
        raise f.fail(key, f"must be \"host:port\" or \"\", got {value!r}")
    _hostport(f, key, value)
    return value


def _hostport(f: _Reader, key: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise f.fail(key, f"must be \"host:port\", got {value!r}")
    return host, int(port)


class _Reader:
    def __init__(self, raw: dict[str, Any], path: Path, prefix: str) -> None:
        self.raw, self.path, self.prefix = raw, path, prefix

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: field '{self.prefix}{key}': {problem}")

    def get(self, key: str, default: Any) -> Any:
        if key in self.raw:
            return self.raw[key]
        if default is None:
            raise self.fail(key, "is required")
        return default

    def text(self, key: str, default: str | None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.get(key, default)
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def number(self, key: str, default: float | None, lo: float, hi: float) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not lo <= value <= hi:
            raise self.fail(key, f"must be a number {lo:g}..{hi:g}, got {value!r}")
        return float(value)

    def table(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, got {type(value).__name__}")
        return value
