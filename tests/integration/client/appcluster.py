"""Fixtures of the application pages' tests (imported by test_app_pages.py): a real 4-member
cluster (node processes over libp2p, real SQLite ledgers, real HTTP APIs) with
a companies section in genesis, and consoles of three of its organisations served by hypercorn
on loopback: what the application pages' integration tests drive over real HTTP.

Members (LocalCluster's roles in turn): n1 power-company (represents both companies), n2
emission-management, n3 verifier, n4 environmental-protection. Everything the fixtures start
is stopped by them, also when a test fails.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster, free_ports
from carbonlab.node.genesis import Genesis

COMPANIES = [
    {"id": "company1", "name": "Company One", "member": "n1", "plants": [
        {"id": "plant1", "name": "Plant 1", "units": [
            {"id": "unit1", "name": "U1", "capacity_mw": 300.0, "min_mw": 100.0, "ramp_mw_per_h": 200.0},
            {"id": "unit2", "name": "U2", "capacity_mw": 200.0, "min_mw": 50.0, "ramp_mw_per_h": 150.0}]}]},
    {"id": "company2", "name": "Company Two", "member": "n1", "plants": [
        {"id": "plant2", "name": "Plant 2",
         "units": [{"id": "unit1", "name": "U1"}, {"id": "unit2", "name": "U2"}]}]},
]


def with_companies(cluster: LocalCluster) -> LocalCluster:
    """Rewrite genesis.json (before any node starts) with the companies section."""
    path = cluster.root / "genesis.json"
    raw = json.loads(path.read_text())
    raw["companies"] = COMPANIES
    genesis = Genesis.from_json(raw)
    genesis.save(path)
    return dataclasses.replace(cluster, genesis=genesis)


@pytest.fixture(scope="module")
def apps_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = with_companies(LocalCluster.create(tmp_path_factory.mktemp("apps") / "c", 4, gateways=2))
    with c.serving(timeout_s=90):
        yield c


@dataclass
class Served:
    url: str
    token: str

    def client(self, *, token: bool = True) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, follow_redirects=False)


def _serve(app: object, port: int) -> Callable[[], None]:
    """hypercorn on 127.0.0.1:port in a thread; returns the function that stops it."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    ready = threading.Event()
    box: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            box["loop"], box["stop"] = asyncio.get_running_loop(), stop
            ready.set()
            await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        asyncio.run(main())

    thread = threading.Thread(target=run, name=f"console-{port}", daemon=True)
    thread.start()
    assert ready.wait(10), "the console's server did not start"

    def stop() -> None:
        loop, event = box["loop"], box["stop"]
        loop.call_soon_threadsafe(event.set)  # type: ignore[attr-defined]
        thread.join(15)
    return stop


@pytest.fixture(scope="module")
def consoles(apps_cluster: LocalCluster) -> Iterator[dict[str, Served]]:
    """A console per organisation n1, n2, n3 with its key, and n4 started without one."""
    from carbonlab.client.app import build_app
    from carbonlab.client.appviews import state
    from carbonlab.client.context import Console
    from carbonlab.client.nodeapi import NodeApi

    cluster = apps_cluster
    stops, served, made = [], {}, []
    ports = free_ports(4)
    try:
        for (member, port) in zip(("n1", "n2", "n3", "n4"), ports, strict=True):
            token = secrets.token_urlsafe(24)
            key = cluster.root / "keys" / f"{member}.key" if member != "n4" else None
            genesis_member = next(m for m in cluster.genesis.members if m.id == member)
            console = Console(NodeApi(cluster.url(member)), cluster.genesis, genesis_member, refresh_s=0.5,
                              key_file=key)
            made.append(console)
            stops.append(_serve(build_app(console, token), port))
            served[member] = Served(f"http://127.0.0.1:{port}", token)
        for member, s in served.items():
            with s.client() as http:
                assert http.get("/allowances").status_code == 200, member
        yield served
    finally:
        for stop in stops:
            stop()
        for console in made:
            state(console).reports.close()
