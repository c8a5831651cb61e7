"""GET /v1/peers of a real node in a cluster of four: every member's height, view, link and
the age of its last STATUS, as the answering node sees them (carbonlab.node.peers)."""

from __future__ import annotations

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.node.errors import SchemaError
from carbonlab.node.peers import MemberStatus, PeersReport
from tests.waiting import wait_until


def _report(url: str) -> PeersReport:
    r = httpx.get(f"{url}/v1/peers", timeout=10)
    assert r.status_code == 200, r.text
    return PeersReport.from_json(r.json())


@pytest.mark.timeout(120)
def test_peers_names_every_member_with_what_its_status_said(node: tuple[LocalCluster, str]) -> None:
    cluster, url = node

    def heard_all() -> PeersReport | None:
        report = _report(url)
        return report if all(m.connected and m.height is not None for m in report.members) else None

    report = wait_until(heard_all, 30, "a STATUS from every member")
    assert report.member_id == "n2"
    assert [m.member_id for m in report.members] == list(cluster.members)
    me = next(m for m in report.members if m.member_id == "n2")
    assert me == MemberStatus("n2", True, report.height, report.view, 0)
    status = httpx.get(f"{url}/v1/status", timeout=10).json()
    assert report.primary == status["primary"]
    for m in report.members:
        assert m.view == report.view
        assert m.heard_ago_ms is not None
        assert m.heard_ago_ms < 30_000
        assert m.height is not None
        assert abs(m.height - report.height) <= 5


def test_a_report_read_back_is_the_same_and_a_bad_one_names_its_field() -> None:
    report = PeersReport("n1", 3, 0, "n1", None,
                         (MemberStatus("n1", True, 3, 0, 0), MemberStatus("n2", False, None, None, None)))
    assert PeersReport.from_json(report.to_json()) == report
    bad = report.to_json()
    bad["members"][1]["height"] = "high"
    with pytest.raises(SchemaError, match=r"peers\.members\[1\]\.height"):
        PeersReport.from_json(bad)
    bad = report.to_json()
    del bad["primary"]
    with pytest.raises(SchemaError, match="primary"):
        PeersReport.from_json(bad)
