"""yamux window credit by half (node/p2p/yamux_credit.py), over real libp2p sockets."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import trio
from libp2p.stream_muxer.yamux.yamux import DEFAULT_WINDOW_SIZE, YamuxStream

from carbonlab.node.p2p.host import STATE_TRANSFER
from tests.unit.node.p2p.test_host import FAST, cluster, collect, make_specs, wait_connected

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The increment of every WINDOW_UPDATE any stream of this process sends."""
    sent: list[int] = []
    original = YamuxStream.send_window_update

    async def counting(self: Any, increment: int, skip_lock: bool = False) -> None:
        if increment > 0:
            sent.append(increment)
        await original(self, increment, skip_lock)

    monkeypatch.setattr(YamuxStream, "send_window_update", counting)
    return sent


@pytest.mark.timeout(60)
def test_small_messages_read_one_by_one_send_no_window_update(updates: list[int]) -> None:
    """py-libp2p's own rule answered each read with an update (one per message here)."""
    async def main() -> None:
        signers, specs = make_specs(2)
        async with cluster(signers, specs) as nodes:
            await wait_connected(nodes)
            updates.clear()
            for i in range(300):
                nodes[0].send("n2", b"vote-%03d" % i)
                (got,) = await collect(nodes[1], 1)    # each one read before the next is sent
                assert got.data == b"vote-%03d" % i
            assert updates == []
    trio.run(main)


@pytest.mark.timeout(60)
def test_messages_larger_than_the_window_go_through_on_half_window_credits(updates: list[int]) -> None:
    big = dataclasses.replace(FAST, max_frame_bytes=8 * 1024 * 1024)

    async def main() -> None:
        signers, specs = make_specs(2)
        async with cluster(signers, specs, big) as nodes:
            await wait_connected(nodes)
            updates.clear()
            payloads = [bytes([i]) * (3 * DEFAULT_WINDOW_SIZE + 1000 * i) for i in range(1, 4)]
            for payload in payloads:
                nodes[0].send("n2", payload, STATE_TRANSFER)
            got = await collect(nodes[1], len(payloads))
            assert [g.data for g in got] == payloads
            total = sum(len(p) for p in payloads)
            # credit comes in steps of at least half a window, and covers what was sent
            # beyond the first window
            assert updates
            assert min(updates) >= DEFAULT_WINDOW_SIZE // 2
            assert sum(updates) >= total - DEFAULT_WINDOW_SIZE
            assert len(updates) <= 2 * total // DEFAULT_WINDOW_SIZE
    trio.run(main)
