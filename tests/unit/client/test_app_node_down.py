"""The application pages served by the console's real app, its member's node a closed port."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.client.app import build_app
from carbonlab.client.appviews import state
from carbonlab.client.context import Console
from carbonlab.client.nodeapi import NodeApi


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("path", "status", "expect"), [
    ("/allowances", 200, 'data-testid="node-error"'),        # the probe: a 500 (the template's data missing)
    ("/allowances?year=2026&year=2025", 400, "year"),        # the probe: the last one was kept silently
    ("/forecasts?run=emissions&company=company1", 200, 'data-testid="node-error"'),
    ("/compliance?company=company1&year=2026", 200, 'data-testid="node-error"'),
])
def test_an_application_page_with_its_node_down_or_a_repeated_parameter(
        tmp_path: Path, path: str, status: int, expect: str) -> None:
    cluster = LocalCluster.create(tmp_path / "c", 4, gateways=2, companies=True)   # never started
    member = next(m for m in cluster.genesis.members if m.id == "n1")
    url = f"http://127.0.0.1:{_closed_port()}"
    console = Console(NodeApi(url, timeout_s=2.0), cluster.genesis, member, refresh_s=1.0)
    app = build_app(console, "t0ken")
    state(console).reader.timeout_s = 2.0

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console",
                                     headers={"authorization": "Bearer t0ken"}) as http:
            return await http.get(path)

    import anyio

    try:
        got = anyio.run(get)
    finally:
        state(console).reports.close()
    assert got.status_code == status, got.text[:300]
    assert expect in got.text
