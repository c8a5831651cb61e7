"""A real 4-node cluster (n = 4, f = 1) per test module, reached through a backup's API."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, str]]:
    cluster = LocalCluster.create(tmp_path_factory.mktemp("api") / "c", 4, gateways=2)
    cluster.start_all()
    try:
        cluster.wait_ready(timeout_s=60)
        yield cluster, cluster.url("n2")  # a backup: submissions are forwarded to n1
    finally:
        cluster.stop()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture(scope="module")
def feed(node: tuple[LocalCluster, str]) -> GatewayFeed:
    return node[0].feeds()[0]
