"""A backup that loses its links to the primary suspects it early (Replica.links).

The transport's word is advisory: it only makes a backup start a view change sooner,
which is always safe; the view change itself still needs 2f + 1 VIEW-CHANGEs.
"""

from __future__ import annotations

from tests.unit.node.pbft.cluster import Cluster

PARAMS = {"checkpoint_interval": 2, "watermark_window": 4, "max_block_batches": 4,
          "batch_delay_ms": 0, "request_timeout_ms": 1000, "view_change_timeout_ms": 1000}


def _crash_primary_with_requests_waiting(c: Cluster) -> list[str]:
    c.submit("n2", c.batch())
    c.tick(50)
    assert set(c.heights().values()) == {1}
    for m in c.ids:
        c.replica(m).links(set(c.ids) - {m}, c.now_ms)
    c.crash("n1")
    c.submit("n2", c.batch())
    c.submit("n3", c.batch())
    return [m for m in c.ids if m != "n1"]


def test_backups_leave_a_crashed_primary_within_a_quarter_of_the_request_timeout() -> None:
    c = Cluster(4, PARAMS)
    survivors = _crash_primary_with_requests_waiting(c)
    for m in survivors:
        c.replica(m).links(set(survivors) - {m}, c.now_ms)
    c.tick(200)
    assert all(c.replica(m).view == 0 for m in survivors), "suspected before a quarter timeout"
    c.tick(300)  # 500 ms = request_timeout / 4 (the request timer alone would take 2 x 1000 ms)
    assert all(c.replica(m).view == 1 and not c.replica(m).view_changing for m in survivors)
    c.tick(100)
    assert {c.heights()[m] for m in survivors} == {3}, c.heights()
    assert c.agree()


def test_without_the_links_only_the_request_timer_suspects() -> None:
    c = Cluster(4, PARAMS)
    survivors = _crash_primary_with_requests_waiting(c)
    c.tick(1500)   # the links still say n1 is reachable: the first expiry only rebroadcasts
    assert all(c.replica(m).view == 0 for m in survivors)
    c.tick(1000)
    assert all(c.replica(m).view == 1 for m in survivors)


def test_a_member_never_reached_is_not_lost_and_no_waiting_request_no_suspicion() -> None:
    c = Cluster(4, PARAMS)
    r = c.replica("n2")
    r.links({"n3", "n4"}, c.now_ms)          # n1 never reached (still starting, say)
    c.tick(2000)
    assert r.view == 0
    assert not r.primary_lost()
    r.links({"n1", "n3", "n4"}, c.now_ms)
    r.links({"n3", "n4"}, c.now_ms)          # lost, but nothing is waiting: stay
    c.tick(2000)
    assert r.primary_lost()
    assert r.view == 0
    r.links({"n1", "n3", "n4"}, c.now_ms)    # back: the clock starts over
    assert not r.primary_lost()
