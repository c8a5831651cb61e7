"""The session's shared 4-node cluster (n = 4, f = 1; tests/sharedcluster.py), reached through a
backup's API; each test module submits through a gateway of its own."""

from __future__ import annotations

import pytest

from carbonlab.bench.localcluster import GatewayFeed, LocalCluster
from tests.sharedcluster import SharedCluster


@pytest.fixture(scope="module")
def node(shared_cluster: SharedCluster) -> tuple[LocalCluster, str]:
    cluster = shared_cluster.cluster
    return cluster, cluster.url("n2")  # a backup: submissions are forwarded to n1


@pytest.fixture(scope="module")
def feed(shared_cluster: SharedCluster, request: pytest.FixtureRequest) -> GatewayFeed:
    """The module's own gateway: nobody else submits through it."""
    own, = shared_cluster.claim(request.module.__name__).feeds
    return own
