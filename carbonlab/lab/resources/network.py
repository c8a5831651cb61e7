"""Kernel network objects a netns lab made: namespaces, links, the safety route, nft tables.

Each is removed only if it is there, so `down` may repeat; a namespace is emptied first
(whatever still runs in it belongs to the lab). Only names of the forms the netns provider
gives (`cl-<lab>-<host>`, `clb<lab>`, `clv<lab><i>`, `cl_<lab>`) are touched: an edited state
file naming `eth0` or another namespace is left alone (`refusal`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Self

from carbonlab.lab.errors import ProviderError
from carbonlab.lab.proc import end, run, start_time
from carbonlab.lab.resources.base import Resource


@dataclasses.dataclass(frozen=True)
class Netns(Resource, kind="netns", words="network namespace"):
    name: str

    def refusal(self, lab_dir: Path) -> str:
        return _not_named(self.kind, self.name, ("cl-",))

    def remove(self, lab_dir: Path) -> None:
        if self.refusal(lab_dir):
            return
        _empty_netns(self.name)
        run(["ip", "netns", "del", self.name], check=False)


@dataclasses.dataclass(frozen=True)
class Link(Resource, kind="link", words="link"):
    """A bridge or a veth (removing either end of a veth removes the pair)."""

    name: str

    def refusal(self, lab_dir: Path) -> str:
        return _not_named(self.kind, self.name, ("clb", "clv"))

    def remove(self, lab_dir: Path) -> None:
        if not self.refusal(lab_dir) and link_exists(self.name):
            run(["ip", "link", "del", self.name], check=False)


@dataclasses.dataclass(frozen=True)
class Route(Resource, kind="route", words="route"):
    """The safety `unreachable` route for the lab's subnet; on disk as its `ip route` words."""

    prefix: str
    metric: int

    def spec(self) -> list[str]:
        return ["unreachable", self.prefix, "metric", str(self.metric)]

    def remove(self, lab_dir: Path) -> None:
        if route_exists(self.prefix, self.metric):
            run(["ip", "route", "del", *self.spec()], check=False)

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec()}

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Self:
        spec = raw.get("spec")
        if (not isinstance(spec, list) or len(spec) != 4 or spec[0] != "unreachable"
                or spec[2] != "metric" or not isinstance(spec[1], str) or not str(spec[3]).isdigit()):
            raise ValueError(f"route record: spec must be [\"unreachable\", PREFIX, \"metric\", N], "
                             f"not {spec!r}")
        return cls(prefix=spec[1], metric=int(spec[3]))


@dataclasses.dataclass(frozen=True)
class NftTable(Resource, kind="nft_table", words="nft table"):
    family: str
    name: str

    def label(self) -> str:
        return self.name

    def refusal(self, lab_dir: Path) -> str:
        return _not_named(self.kind, self.name, ("cl_", "clrig_"))

    def remove(self, lab_dir: Path) -> None:
        if not self.refusal(lab_dir):
            run(["nft", "delete", "table", self.family, self.name], check=False)


def _not_named(kind: str, name: str, prefixes: tuple[str, ...]) -> str:
    if name.startswith(prefixes) and len(name) > max(map(len, prefixes)):
        return ""
    return f"{kind} {name!r} is not a name a lab gives (they start {' or '.join(prefixes)})"


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def route_exists(prefix: str, metric: int) -> bool:
    done = run(["ip", "-j", "route", "show", "type", "unreachable"], check=False)
    try:
        routes = json.loads(done.stdout or "[]")
    except ValueError:
        return False
    return any(r.get("dst") == prefix and r.get("metric") == metric for r in routes)


def _empty_netns(ns: str) -> None:
    """SIGKILL whatever still runs in the namespace (all of it belongs to the lab)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = run(["ip", "netns", "pids", ns], check=False)
        pids = [int(p) for p in done.stdout.split()] if done.returncode == 0 else []
        if not pids:
            return
        for pid in pids:
            end(pid, start_time(pid), grace_s=0.5, term=False)
        time.sleep(0.05)
    raise ProviderError(f"netns {ns}: processes still running after 30 s: {' '.join(map(str, pids))}")
