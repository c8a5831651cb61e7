"""The primary's bound on blocks in flight, and the replica's next timer (the driver sleeps to it)."""

from __future__ import annotations

from carbonlab.node.pbft import Execute
from carbonlab.node.pbft.messages import Kind
from tests.unit.node.pbft.cluster import Cluster, kind_of

PARAMS = {"checkpoint_interval": 4, "watermark_window": 16, "max_block_batches": 2,
          "batch_delay_ms": 20, "request_timeout_ms": 400, "view_change_timeout_ms": 400}


def bounded(n: int = 4, bound: int = 2) -> Cluster:
    c = Cluster(n, PARAMS, gateways=8)
    for m in c.ids:
        c.replica(m).max_in_flight = bound
    return c


def test_the_primary_holds_blocks_past_the_bound_and_batches_grow_until_one_executes() -> None:
    c = bounded(bound=2)
    primary = c.replica("n1")
    for g in range(1, 9):                       # 8 batches, 2 per block at most: 4 full blocks due
        c.submit("n1", c.batch(f"gw{g}"))
    pre_prepares = [d for s, _, d in c.sent if s == "n1" and kind_of(d) is Kind.PRE_PREPARE]
    assert len(pre_prepares) == 2               # the bound, not the 4 full blocks the queue holds
    assert primary.agreement.next_seq == 3
    assert len(primary.requests.queue) == 4     # still waiting, none lost
    c.deliver()                                 # both blocks agreed and executed: two places free
    assert all(h >= 2 for h in c.heights().values())
    c.deliver()
    c.tick(100)
    assert set(c.heights().values()) == {4}     # everything ordered, in 4 blocks
    assert c.agree()
    assert not primary.requests.queue


def test_no_bound_proposes_up_to_the_watermark_as_before() -> None:
    c = bounded(bound=2)
    for m in c.ids:
        c.replica(m).max_in_flight = None
    for g in range(1, 9):
        c.submit("n1", c.batch(f"gw{g}"))
    pre_prepares = [d for s, _, d in c.sent if s == "n1" and kind_of(d) is Kind.PRE_PREPARE]
    assert len(pre_prepares) == 4


def test_a_held_request_is_proposed_when_a_block_executes_not_at_a_later_tick() -> None:
    c = bounded(bound=1)
    primary = c.replica("n1")
    c.submit("n1", c.batch("gw1"))
    c.now_ms += PARAMS["batch_delay_ms"]
    c.handle("n1", primary.tick(c.now_ms))      # block 1 proposed: the pipeline is full
    c.submit("n1", c.batch("gw2"))
    assert len(primary.requests.queue) == 1
    c.now_ms += PARAMS["batch_delay_ms"]        # it has waited its batch delay; no tick comes
    executed: list[int] = []
    # deliver without ticking: block 1 executes at the primary, which proposes block 2 at once
    while c.inbox:
        _sender, to, data = c.inbox.pop(0)
        actions = c.replica(to).receive(data, c.now_ms)
        executed += [a.proposal.seq for a in actions if isinstance(a, Execute) and to == "n1"]
        c.handle(to, actions)
    assert executed == [1, 2]
    assert set(c.heights().values()) == {2}


def test_next_tick_is_the_oldest_queued_requests_batch_delay_unless_the_pipeline_is_full() -> None:
    c = bounded(bound=1)
    primary, backup = c.replica("n1"), c.replica("n2")
    c.tick(1)
    idle = primary.next_tick_ms()
    assert idle == min(primary.next_resend_ms, primary.next_status_ms) > c.now_ms   # rounds only
    c.now_ms = 5
    c.submit("n1", c.batch("gw1"))
    assert primary.next_tick_ms() == 5 + PARAMS["batch_delay_ms"]
    c.now_ms = 25
    c.handle("n1", primary.tick(c.now_ms))      # proposed; the pipeline (1) is full
    c.submit("n1", c.batch("gw2"))
    assert primary.next_tick_ms() == min(primary.next_resend_ms, primary.next_status_ms)
    # a backup with a request waiting is due at its request timer
    c.submit("n2", c.batch("gw3"))
    assert backup.requests.deadline_ms is not None
    assert backup.next_tick_ms() <= backup.requests.deadline_ms


def test_a_partial_block_waits_while_one_is_in_flight_and_full_blocks_still_pipeline() -> None:
    c = bounded(bound=4)                        # max_block_batches 2
    primary = c.replica("n1")

    def proposed() -> int:
        return len([d for s, _, d in c.sent if s == "n1" and kind_of(d) is Kind.PRE_PREPARE])

    c.submit("n1", c.batch("gw1"))
    c.now_ms += PARAMS["batch_delay_ms"]
    c.handle("n1", primary.tick(c.now_ms))      # block 1: one batch, nothing was in flight
    assert proposed() == 1
    c.submit("n1", c.batch("gw2"))
    c.now_ms += PARAMS["batch_delay_ms"]
    assert primary.next_tick_ms() > c.now_ms    # no wake-up for a partial block behind block 1
    c.handle("n1", primary.tick(c.now_ms))
    assert proposed() == 1                      # waited its delay, but block 1 is in flight
    assert len(primary.requests.queue) == 1
    c.submit("n1", c.batch("gw3"))              # the queue now fills a block: it goes at once
    assert proposed() == 2
    assert primary.agreement.next_seq == 3
    c.submit("n1", c.batch("gw4"))              # partial again, two blocks in flight: waits
    assert proposed() == 2
    c.now_ms += PARAMS["batch_delay_ms"]        # gw4 has waited its delay; no tick comes
    c.deliver()                                 # blocks 1 and 2 execute; block 3 (gw4) goes then
    assert proposed() == 3
    assert set(c.heights().values()) == {3}
    assert c.agree()
    assert not primary.requests.queue
