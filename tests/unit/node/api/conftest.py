"""A real 4-node cluster (n = 4, f = 1) per test module, reached through a backup's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, str]]:
    cluster = LocalCluster.create(tmp_path_factory.mktemp("api") / "c", 4, gateways=2)
    with cluster.serving(timeout_s=60):
        yield cluster, cluster.url("n2")  # a backup: submissions are forwarded to n1


@pytest.fixture(scope="module")
def feed(node: tuple[LocalCluster, str]) -> GatewayFeed:
    return node[0].feeds()[0]
