"""The uplink's failover, backoff and commit-acknowledgement protocol against the contract double
(real HTTP over loopback). End-to-end with the real node is in test_gateway_kill.py."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from dataclasses import replace

import pytest

from carbonlab.gateway.uplink import Decision, Uplink, UplinkParams
from carbonlab.loopback import free_loopback_port
from carbonlab.node.crypto import Signer
from carbonlab.node.model import Basis, Batch, DataFlag, Reading
from tests.integration.gateway.contract_double import ChainState, DoubleNode, running

SIGNER = Signer.from_seed(bytes(32))
FAST = UplinkParams(request_timeout_s=2.0, poll_interval_s=0.01, commit_timeout_s=1.0,
                    base_backoff_s=0.01, max_backoff_s=0.05)


def batch(seq: int) -> Batch:
    r = Reading("m1", seq, 1_700_000_040 + 60 * seq, 60, 10.0, Basis.WET, 6.0, 8.0, 300.0, 120.0,
                100.0, 60, DataFlag.NORMAL, 1.0)
    return Batch("chain", "gw1", seq, (r,)).signed(SIGNER)


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_commit_after_pending_polls() -> None:
    async def main() -> tuple[Decision, DoubleNode]:
        chain = ChainState()
        node = DoubleNode(chain, pending_polls=3)
        async with running(node) as url:
            up = Uplink([url], FAST)
            try:
                return await up.deliver(batch(1)), node
            finally:
                await up.aclose()
    decision, node = run(main())  # type: ignore[misc]
    assert decision.committed
    assert decision.height == 1
    assert node.posts == 1
    assert node.polls == 4


def test_fails_over_from_a_dead_node_and_a_503_node() -> None:
    results: list[tuple[str, str]] = []

    async def main() -> tuple[Decision, ChainState, str]:
        chain = ChainState()
        dead = f"http://127.0.0.1:{free_loopback_port()}"
        async with running(DoubleNode(chain, fail_posts=100)) as busy, \
                running(DoubleNode(chain)) as good:
            up = Uplink([dead, busy, good], FAST, on_result=lambda n, r: results.append((n, r)))
            try:
                return await up.deliver(batch(1)), chain, good
            finally:
                await up.aclose()
    decision, chain, good = run(main())  # type: ignore[misc]
    assert decision.committed
    assert decision.node == good
    assert [r for _, r in results] == ["error", "http_503", "accepted", "committed"]
    assert list(chain.committed) == [("gw1", 1)]


def test_backs_off_until_a_node_comes_up() -> None:
    async def main() -> tuple[Decision, int]:
        chain = ChainState()
        node = DoubleNode(chain, fail_posts=5)
        async with running(node) as url:
            up = Uplink([url], FAST, rng=random.Random(1))
            try:
                return await up.deliver(batch(1)), node.posts
            finally:
                await up.aclose()
    decision, posts = run(main())  # type: ignore[misc]
    assert decision.committed
    assert posts == 6


def test_forgotten_batch_is_sent_again_and_committed_once() -> None:
    async def main() -> tuple[Decision, ChainState]:
        chain = ChainState()
        async with running(DoubleNode(chain, forget=True)) as lossy, running(DoubleNode(chain)) as ok:
            up = Uplink([lossy, ok], FAST)
            try:
                return await up.deliver(batch(1)), chain
            finally:
                await up.aclose()
    decision, chain = run(main())  # type: ignore[misc]
    assert decision.committed
    assert chain.readings == [("m1", 1)]


def test_resending_a_committed_batch_is_reported_committed_not_twice() -> None:
    async def main() -> tuple[Decision, Decision, ChainState]:
        chain = ChainState()
        async with running(DoubleNode(chain)) as url:
            up = Uplink([url], FAST)
            try:
                first = await up.deliver(batch(1))
                again = await up.deliver(batch(1))      # a gateway restarted before deleting it
                return first, again, chain
            finally:
                await up.aclose()
    first, again, chain = run(main())  # type: ignore[misc]
    assert first.committed
    assert again.committed
    assert chain.readings == [("m1", 1)]


def test_rejection_is_final_with_reason() -> None:
    async def main() -> Decision:
        chain = ChainState(reject_seqs={2})
        async with running(DoubleNode(chain)) as url:
            up = Uplink([url], FAST)
            try:
                await up.deliver(batch(1))
                return await up.deliver(batch(2))
            finally:
                await up.aclose()
    decision = run(main())
    assert isinstance(decision, Decision)
    assert not decision.committed
    assert decision.reason == "out_of_range"
    assert decision.field == "batch.readings[0].co2_pct"


def test_retry_after_is_honoured_before_sending_to_that_node_again() -> None:
    """A 503 with Retry-After: 1 (a node at its max_pending_batches bound): the same node gets
    the batch again only after that second, although the uplink's own backoff is 10-50 ms."""
    async def main() -> tuple[Decision, DoubleNode]:
        chain = ChainState()
        node = DoubleNode(chain, fail_posts=2, retry_after="1")
        async with running(node) as url:
            up = Uplink([url], FAST, rng=random.Random(1))
            try:
                return await up.deliver(batch(1)), node
            finally:
                await up.aclose()
    decision, node = run(main())  # type: ignore[misc]
    assert decision.committed
    assert node.posts == 3
    gaps = [b - a for a, b in itertools.pairwise(node.post_times)]
    assert all(gap >= 1.0 for gap in gaps), gaps


def test_other_members_are_tried_while_one_waits_out_its_retry_after() -> None:
    async def main() -> tuple[Decision, DoubleNode, DoubleNode, str]:
        chain = ChainState()
        busy = DoubleNode(chain, fail_posts=100, retry_after="30")
        flaky = DoubleNode(chain, fail_posts=4)
        async with running(busy) as busy_url, running(flaky) as flaky_url:
            up = Uplink([busy_url, flaky_url], FAST, rng=random.Random(2))
            try:
                return await up.deliver(batch(1)), busy, flaky, flaky_url
            finally:
                await up.aclose()
    decision, busy, flaky, flaky_url = run(main())  # type: ignore[misc]
    assert decision.committed
    assert decision.node == flaky_url
    assert busy.posts == 1          # asked once, then left alone for its 30 s
    assert flaky.posts == 5


def test_a_long_retry_after_is_capped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    params = replace(FAST, max_retry_after_s=0.5)

    async def main() -> tuple[Decision, DoubleNode]:
        chain = ChainState()
        node = DoubleNode(chain, fail_posts=1, retry_after="3600")
        async with running(node) as url:
            up = Uplink([url], params, rng=random.Random(3))
            try:
                return await up.deliver(batch(1)), node
            finally:
                await up.aclose()
    with caplog.at_level(logging.INFO, logger="carbonlab.gateway.uplink"):
        decision, node = run(main())  # type: ignore[misc]
    assert decision.committed
    assert node.post_times[1] - node.post_times[0] >= 0.5
    assert any("capped from 3600 s" in r.getMessage() for r in caplog.records), caplog.text


def test_an_unreadable_retry_after_is_logged_and_the_usual_backoff_applies(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[Decision, DoubleNode]:
        chain = ChainState()
        node = DoubleNode(chain, fail_posts=2, retry_after="soon")
        async with running(node) as url:
            up = Uplink([url], FAST, rng=random.Random(4))
            try:
                return await up.deliver(batch(1)), node
            finally:
                await up.aclose()
    with caplog.at_level(logging.WARNING, logger="carbonlab.gateway.uplink"):
        decision, node = run(main())  # type: ignore[misc]
    assert decision.committed
    assert node.posts == 3
    assert [r.getMessage() for r in caplog.records
            if "unreadable Retry-After 'soon'" in r.getMessage()], caplog.text
