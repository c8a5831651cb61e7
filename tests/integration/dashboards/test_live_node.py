"""The dashboards against real node processes (`carbonlab node run`), scraped by a real Prometheus.

A 4-member consortium (f = 1) from carbonlab.bench.localcluster commits signed batches; Prometheus
scrapes every member's /metrics with the generated config and rules. Every panel query fed by the
node's own metrics must return data, and a member killed with SIGKILL reads `up == 0` at the first
scrape after its death. Queries fed only by events this run does not cause (frame errors,
rejections, anomalies) or by other processes (gateway, rig) are covered by test_live_prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.dashboards import build
from carbonlab.dashboards.names import NODE_METRICS
from carbonlab.dashboards.scrape import ScrapeTarget
from tests.integration.dashboards.conftest import (
    SCRAPE_INTERVAL_S,
    Lab,
    expand_variables,
    needs_prometheus,
    start_prometheus,
    stop,
)

pytestmark = pytest.mark.slow
WAIT_S = 90.0
# Panels whose series only appear on events this test does not cause, or come from other processes.
NOT_FROM_NODES = ("frame_errors", "anomalies", "batches_rejected", "gateway", "rig_", "Forecast")


def submit(cluster: LocalCluster, batch: Any, members: list[str], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    i = 0
    while time.monotonic() < deadline:
        member = members[i % len(members)]
        i += 1
        try:
            r = httpx.post(f"{cluster.url(member)}/v1/batches?wait_ms=2000", json=batch.to_json(), timeout=5)
        except httpx.HTTPError:
            continue
        if r.json().get("status") == "committed":
            return
    raise AssertionError(f"batch not committed within {timeout_s} s")


@pytest.fixture(scope="module")
def node_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, LocalCluster]]:
    needs_prometheus()
    root: Path = tmp_path_factory.mktemp("nodes")
    cluster = LocalCluster.create(root / "cluster", 4, gateways=1, meters_per_gateway=2)
    prom = None
    try:
        cluster.start_all()
        cluster.wait_ready(timeout_s=60)
        orgs = {m.id: m.organisation for m in cluster.genesis.members}
        targets = [
            ScrapeTarget("node", f"127.0.0.1:{cluster.api_ports[m]}", m, organisation=orgs[m])
            for m in cluster.members
        ]
        prom, url = start_prometheus(root, targets)
        feed = cluster.feeds()[0]
        for _ in range(4):
            submit(cluster, feed.next_batch(), list(cluster.members))
        yield Lab(url, SCRAPE_INTERVAL_S), cluster
    finally:
        if prom is not None:
            stop(prom)
        cluster.stop()


def node_queries() -> dict[str, str]:
    out = {}
    for d in build.dashboards():
        for p in d.panels:
            for q in p.queries:
                if any(word in q.expr or word in p.title for word in NOT_FROM_NODES):
                    continue
                out[f"{d.uid} / {p.title} / {q.legend}"] = expand_variables(q.expr, d)
    return out


def test_node_panels_return_data_from_real_nodes(node_lab: tuple[Lab, LocalCluster]) -> None:
    lab, cluster = node_lab
    pending = node_queries()
    assert len(pending) >= 20
    feed = cluster.feeds()[0]
    # keep blocks and CO2 moving
    lab.wait_for_data(pending, WAIT_S, lambda: submit(cluster, feed.next_batch(), list(cluster.members)))
    members = {s["metric"]["member"] for s in lab.query("member:carbonlab_height:max")}
    assert members == set(cluster.members)


def test_killed_node_reads_down_at_the_first_scrape_after_death(node_lab: tuple[Lab, LocalCluster]) -> None:
    lab, cluster = node_lab
    victim = cluster.members[-1]
    selector = f'up{{job="node", member="{victim}"}}'
    lab.wait_reads(selector, "1", f"{victim} came up", WAIT_S)
    lab.reads_down_from_the_kill(selector, lambda: cluster.kill(victim), f"{victim} read down", WAIT_S)


def test_a_real_node_exposes_every_node_metric_name(node_lab: tuple[Lab, LocalCluster]) -> None:
    _lab, cluster = node_lab
    alive = [m for m in cluster.members if m in cluster.running()]
    text = httpx.get(f"{cluster.url(alive[0])}/metrics", timeout=10).text
    for metric in NODE_METRICS:
        base = metric.name.removesuffix("_total")  # the text format names a counter with or without it
        assert {f"# TYPE {metric.name} {metric.type}", f"# TYPE {base} {metric.type}"} & set(
            text.splitlines()
        ), f"the node does not expose {metric.name}"
