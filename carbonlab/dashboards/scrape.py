"""Prometheus configuration generated from a list of scrape targets.

The lab's prometheus role calls `scrape_config(targets, scrape_interval_s)` with one
`ScrapeTarget` per process exposing `/metrics` and writes the returned dict as
`prometheus.yml` (YAML of that dict). There is one job per role (`node`, `gateway`, `meters`,
`rig`); each target carries its own identity as labels so that dashboards and rules never
parse addresses:

| role    | label naming the target | other labels                 |
|---------|-------------------------|------------------------------|
| node    | `member`                | `organisation`               |
| gateway | `gateway`               | `organisation`, `plant`      |
| meters  | `host`                  | `plant`                      |
| rig     | `host`                  |                              |

Node targets never carry `plant`: node metrics have their own `plant` label per reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from carbonlab.dashboards.errors import ScrapeTargetError

ROLES = ("node", "gateway", "meters", "rig")
NAME_LABEL = {"node": "member", "gateway": "gateway", "meters": "host", "rig": "host"}
_ALLOWED_EXTRA = {
    "node": ("organisation",),
    "gateway": ("organisation", "plant"),
    "meters": ("plant",),
    "rig": (),
}
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PORT = re.compile(r"[0-9]{1,5}")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)$")


@dataclass(frozen=True)
class ScrapeTarget:
    """One process Prometheus scrapes. `address` is `host:port`; `name` is the member, gateway or host id."""

    role: str
    address: str
    name: str
    organisation: str | None = None
    plant: str | None = None
    metrics_path: str = "/metrics"

    def __post_init__(self) -> None:
        where = f"scrape target {self.name!r}"
        if self.role not in ROLES:
            raise ScrapeTargetError(f"{where}: role {self.role!r} is not one of {', '.join(ROLES)}")
        host, sep, port = self.address.rpartition(":")
        # the port in ASCII digits, at most 5: isdigit() also takes "²" (int() then raised)
        if not sep or not _HOST.match(host) or not _PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
            raise ScrapeTargetError(f"{where}: address {self.address!r} is not host:port with port 1-65535")
        if not _LABEL_VALUE.match(self.name):
            raise ScrapeTargetError(f"{where}: name must match {_LABEL_VALUE.pattern}")
        for field in ("organisation", "plant"):
            value = getattr(self, field)
            if value is None:
                continue
            if field not in _ALLOWED_EXTRA[self.role]:
                allowed = ", ".join(_ALLOWED_EXTRA[self.role]) or "none"
                raise ScrapeTargetError(
                    f"{where}: a {self.role} target takes no {field} (allowed: {allowed})"
                )
            if not value.strip() or "\n" in value:
                raise ScrapeTargetError(f"{where}: {field} must be a non-empty single line")
        if not self.metrics_path.startswith("/"):
            raise ScrapeTargetError(f"{where}: metrics_path {self.metrics_path!r} must start with '/'")

    def labels(self) -> dict[str, str]:
        labels = {NAME_LABEL[self.role]: self.name}
        if self.organisation is not None:
            labels["organisation"] = self.organisation
        if self.plant is not None:
            labels["plant"] = self.plant
        return labels


_FIELDS = ("role", "address", "name", "organisation", "plant", "metrics_path")


def targets_from_data(data: Any, source: str) -> list[ScrapeTarget]:
    """Targets from a list of mappings (as loaded from YAML or JSON); errors name `source[i].field`."""
    if not isinstance(data, list):
        raise ScrapeTargetError(f"{source}: expected a list of targets, got {type(data).__name__}")
    out = []
    for i, item in enumerate(data):
        where = f"{source}[{i}]"
        if not isinstance(item, dict):
            raise ScrapeTargetError(f"{where}: expected a mapping, got {type(item).__name__}")
        unknown = sorted(set(item) - set(_FIELDS))
        if unknown:
            raise ScrapeTargetError(
                f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(_FIELDS)})"
            )
        for key in ("role", "address", "name"):
            if key not in item:
                raise ScrapeTargetError(f"{where}: missing field {key}")
        for key, value in item.items():
            if value is not None and not isinstance(value, str):
                raise ScrapeTargetError(f"{where}.{key}: expected a string, got {type(value).__name__}")
        try:
            out.append(ScrapeTarget(**item))
        except ScrapeTargetError as exc:
            raise ScrapeTargetError(f"{where}: {exc}") from exc
    return out


def duration(seconds: float) -> str:
    """A Prometheus duration string: whole seconds as `5s`, otherwise milliseconds (`500ms`)."""
    if not seconds > 0:
        raise ScrapeTargetError(f"scrape_interval_s must be > 0, got {seconds!r}")
    ms = round(seconds * 1000)
    if ms < 1:
        raise ScrapeTargetError(f"scrape_interval_s must be at least 0.001, got {seconds!r}")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def scrape_config(
    targets: Sequence[ScrapeTarget],
    scrape_interval_s: float,
    *,
    rule_files: Sequence[str] = (),
    evaluation_interval_s: float | None = None,
    external_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A complete `prometheus.yml` (as a dict) scraping `targets`, one job per role.

    The scrape timeout is the interval itself (capped at 10 s), so a killed process shows as
    `up == 0` at the first scrape after its death. Rules are evaluated at `evaluation_interval_s`
    (default: the scrape interval); `external_labels` (e.g. `{"lab": lab_id}`) go into `global`.
    Raises ScrapeTargetError on duplicate addresses or names or a bad external label.
    """
    interval = duration(scrape_interval_s)
    timeout = duration(min(scrape_interval_s, 10.0))
    evaluation = duration(evaluation_interval_s if evaluation_interval_s is not None else scrape_interval_s)
    seen_address: dict[tuple[str, str], str] = {}
    seen_name: set[tuple[str, str]] = set()
    for t in targets:
        key = (t.address, t.metrics_path)
        if key in seen_address:
            raise ScrapeTargetError(
                f"scrape target {t.name!r}: address {t.address}{t.metrics_path} is also {seen_address[key]!r}"
            )
        seen_address[key] = t.name
        if (t.role, t.name) in seen_name:
            raise ScrapeTargetError(f"scrape target {t.name!r}: two {t.role} targets share this name")
        seen_name.add((t.role, t.name))
    jobs: list[dict[str, Any]] = []
    for role in ROLES:
        mine = [t for t in targets if t.role == role]
        for path in sorted({t.metrics_path for t in mine}):
            on_path = [t for t in mine if t.metrics_path == path]
            job_name = role if path == "/metrics" else f"{role}{path.replace('/', '_')}"
            jobs.append(
                {
                    "job_name": job_name,
                    "metrics_path": path,
                    "scrape_interval": interval,
                    "scrape_timeout": timeout,
                    "static_configs": [
                        {"targets": [t.address], "labels": {"job": role, **t.labels()}}
                        for t in sorted(on_path, key=lambda t: t.name)
                    ],
                }
            )
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": timeout, "evaluation_interval": evaluation},
        "scrape_configs": jobs,
    }
    if external_labels:
        for label, value in external_labels.items():
            if not _LABEL_NAME.match(label) or not isinstance(value, str) or not value:
                raise ScrapeTargetError(
                    f"external label {label!r}={value!r}: name must match "
                    f"{_LABEL_NAME.pattern} and value be a non-empty string"
                )
        config["global"]["external_labels"] = dict(external_labels)
    if rule_files:
        config["rule_files"] = list(rule_files)
    return config
