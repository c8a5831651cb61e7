"""Fixtures of the application pages' tests (imported by test_app_pages.py): the session's
shared 4-member cluster (tests/sharedcluster.py: node processes over libp2p, real SQLite
ledgers, real HTTP APIs, a companies section in genesis) with the pages' own gateways gw1 and
gw2 (company1's and company2's), and consoles of three of its organisations served by hypercorn
on loopback: what the application pages' integration tests drive over real HTTP.

Members: n1 power-company (represents the companies), n2 emission-management, n3 verifier, n4
trading-centre (its console has no key, so it offers no action). Everything the fixtures start
is stopped by them, also when a test fails.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.loopback import free_loopback_ports
from tests.sharedcluster import APPS_GATEWAYS, Claim, SharedCluster


@pytest.fixture(scope="module")
def apps_claim(shared_cluster: SharedCluster) -> Claim:
    """The application pages' gateways gw1 and gw2 of the session's shared cluster: company1's
    and company2's (tests/sharedcluster.py's APPS_COMPANIES), their feeds fresh."""
    return shared_cluster.claim("application pages", gateways=APPS_GATEWAYS)


@pytest.fixture(scope="module")
def apps_cluster(shared_cluster: SharedCluster, apps_claim: Claim) -> LocalCluster:
    return shared_cluster.cluster


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
    ports = free_loopback_ports(4)
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
