"""Facts about a running lab, read from the services themselves (STYLE 4: facts, then acts).

Node height, view and primary come from each node's `/v1/status`; a gateway's backlog
from its `/metrics` (`carbonlab_gateway_outbox_depth`); readings and CO2 per plant from each
node's ledger (`/v1/emissions?group_by=plant`: what is committed, so a node restarted keeps
its count; its Prometheus counters start again from 0); a member's console from its
`/healthz`. Every request has a short timeout; a service that does not answer is reported
as down, never waited on.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from carbonlab.lab.ports import PortPlan
from carbonlab.lab.topology import Topology

TIMEOUT_S = 2.0
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfNa]+)')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class NodeFacts:
    member: str
    host: str
    url: str
    up: bool = False
    height: int | None = None
    view: int | None = None
    primary: str | None = None
    peers: int | None = None
    readings: float = 0.0
    co2_kg_by_plant: dict[str, float] = field(default_factory=dict)
    error: str = ""


@dataclass
class GatewayFacts:
    gateway: str
    host: str
    url: str
    up: bool = False
    backlog: float | None = None
    error: str = ""


@dataclass
class ClientFacts:
    """A member's web console: `/healthz` answers (it says nothing else without the token)."""

    member: str
    host: str
    url: str
    up: bool = False
    error: str = ""


class PrometheusState(StrEnum):
    """The lab's Prometheus as `lab status` says it (None in `LabFacts`: the topology has none)."""

    READY = "ready"
    NOT_READY = "NOT READY"
    SKIPPED = "not installed"     # lab up skipped it: not installed and not installable there


@dataclass
class LabFacts:
    nodes: list[NodeFacts]
    gateways: list[GatewayFacts]
    meter_hosts: dict[str, bool]
    prometheus: PrometheusState | None
    clients: list[ClientFacts] = field(default_factory=list)

    @property
    def heights(self) -> list[int]:
        return [n.height for n in self.nodes if n.height is not None]

    def healthy(self) -> tuple[bool, str]:
        """All nodes answer, at height >= 1 and within 2 blocks of each other (they are polled one
        after another while blocks commit every few hundred ms), every gateway, meter host and
        member's console answers."""
        down = [n.member for n in self.nodes if not n.up]
        if down:
            return False, f"nodes not answering: {', '.join(down)}"
        heights = self.heights
        if min(heights) < 1:
            return False, f"no block committed yet (heights {heights})"
        if max(heights) - min(heights) > 2:
            return False, f"nodes apart: heights {heights}"
        gw_down = [g.gateway for g in self.gateways if not g.up]
        if gw_down:
            return False, f"gateways not answering: {', '.join(gw_down)}"
        meters_down = [h for h, ok in self.meter_hosts.items() if not ok]
        if meters_down:
            return False, f"meter hosts not answering: {', '.join(meters_down)}"
        clients_down = [c.member for c in self.clients if not c.up]
        if clients_down:
            return False, f"consoles not answering: {', '.join(clients_down)}"
        return True, f"{len(self.nodes)} nodes at height {min(heights)}..{max(heights)}"


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text format -> (name, labels, value) samples; comments and junk skipped."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_RE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        labels = dict(LABEL_RE.findall(match.group(2) or ""))
        out.append((match.group(1), labels, value))
    return out


def _get(client: httpx.Client, url: str) -> httpx.Response | None:
    try:
        return client.get(url, timeout=TIMEOUT_S)
    except httpx.HTTPError:
        return None


def _node(client: httpx.Client, facts: NodeFacts) -> None:
    resp = _get(client, facts.url + "/v1/status")
    if resp is None or resp.status_code != 200:
        facts.error = "no answer" if resp is None else f"HTTP {resp.status_code}"
        return
    try:
        status: Any = resp.json()
        facts.height = int(status["height"])
        facts.view = int(status.get("view", 0))
        facts.primary = str(status.get("primary", ""))
        facts.peers = len(status.get("peers_connected", []))
    except (ValueError, KeyError, TypeError) as exc:
        facts.error = f"bad /v1/status ({exc})"
        return
    facts.up = True
    ledger = _get(client, facts.url + "/v1/emissions?group_by=plant")
    if ledger is None or ledger.status_code != 200:
        facts.error = ("no answer to /v1/emissions" if ledger is None
                       else f"/v1/emissions: HTTP {ledger.status_code}")
        return
    try:
        for row in ledger.json()["emissions"]:
            facts.readings += int(row["readings"])
            plant = str(row["plant"])
            facts.co2_kg_by_plant[plant] = facts.co2_kg_by_plant.get(plant, 0.0) + float(row["co2_kg"] or 0)
    except (ValueError, KeyError, TypeError) as exc:
        facts.error = f"bad /v1/emissions ({exc})"


def _answer(client: httpx.Client, facts: GatewayFacts | ClientFacts, path: str) -> httpx.Response | None:
    """The 200 answer of `path`, `facts.up` set; None with `facts.error` set otherwise."""
    resp = _get(client, facts.url + path)
    if resp is None or resp.status_code != 200:
        facts.error = "no answer" if resp is None else f"HTTP {resp.status_code}"
        return None
    facts.up = True
    return resp


def _gateway(client: httpx.Client, facts: GatewayFacts) -> None:
    resp = _answer(client, facts, "/metrics")
    if resp is None:
        return
    for name, _labels, value in parse_metrics(resp.text):
        if name == "carbonlab_gateway_outbox_depth":
            facts.backlog = (facts.backlog or 0.0) + value


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=TIMEOUT_S):
            return True
    except OSError:
        return False


def gather(topo: Topology, ports: PortPlan, *, prometheus_skipped: bool = False) -> LabFacts:
    """What every part of the lab answers; `prometheus_skipped`: `lab up` recorded that it
    skipped Prometheus (`names.prometheus_skipped_file`), so it is not asked."""
    nodes = [NodeFacts(m.id, m.host, ports.url(m.host, m.id + "-api")) for m in topo.members]
    gateways = [GatewayFacts(g.id, g.host, ports.url(g.host, g.id + "-metrics")) for g in topo.gateways]
    consoles = [ClientFacts(m.id, m.host, ports.url(m.host, m.id + "-client")) for m in topo.members]
    with httpx.Client() as client:
        for node in nodes:
            _node(client, node)
        for gw in gateways:
            _gateway(client, gw)
        for console in consoles:
            _answer(client, console, "/healthz")
        prometheus = None
        if topo.prometheus and prometheus_skipped:
            prometheus = PrometheusState.SKIPPED
        elif topo.prometheus:
            resp = _get(client, ports.url(topo.prometheus.host, "prometheus") + "/-/ready")
            prometheus = PrometheusState.READY if resp is not None and resp.status_code == 200 \
                else PrometheusState.NOT_READY
    meter_hosts = {h: port_open(ports.address(h), ports.port(h, "meters-control"))
                   for h in topo.meter_hosts()}
    return LabFacts(nodes=nodes, gateways=gateways, meter_hosts=meter_hosts, prometheus=prometheus,
                    clients=consoles)
