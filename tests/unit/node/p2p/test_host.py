"""Real libp2p hosts on 127.0.0.1 exchanging frames."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import multiaddr
import pytest
import trio
from libp2p.peer.peerinfo import PeerInfo

from carbonlab.loopback import free_loopback_port
from carbonlab.node.crypto import Signer
from carbonlab.node.p2p.frames import HEADER, encode_messages
from carbonlab.node.p2p.host import CONSENSUS, STATE_TRANSFER, Inbound, P2PNode, P2PSettings, PeerSpec
from carbonlab.node.p2p.identity import peer_id_of
from tests.waiting import trio_wait_until

# py-libp2p leaves some sockets to the garbage collector when a host stops mid-dial
pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

FAST = P2PSettings(max_frame_bytes=64 * 1024, heartbeat_s=0.2, silent_after_s=2.0,
                   backoff_min_s=0.05, backoff_max_s=0.5, dial_timeout_s=3.0, write_timeout_s=3.0)


def make_specs(n: int) -> tuple[list[Signer], list[PeerSpec]]:
    signers = [Signer.generate() for _ in range(n)]
    specs = [PeerSpec(f"n{i + 1}", peer_id_of(s.public_key),
                      multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{free_loopback_port()}"))
             for i, s in enumerate(signers)]
    return signers, specs


@asynccontextmanager
async def cluster(signers: list[Signer], specs: list[PeerSpec],
                  settings: P2PSettings = FAST) -> AsyncIterator[list[P2PNode]]:
    nodes = [P2PNode(spec.member_id, signer, spec.addr, specs, settings)
             for signer, spec in zip(signers, specs, strict=True)]
    async with trio.open_nursery() as nursery:
        for node in nodes:
            await nursery.start(node.run)
        yield nodes
        nursery.cancel_scope.cancel()


async def wait_connected(nodes: list[P2PNode]) -> None:
    await trio_wait_until(lambda: all(len(n.connected_peers()) == len(nodes) - 1 for n in nodes), 20,
                          "every host connected to every other")


async def collect(node: P2PNode, count: int) -> list[Inbound]:
    got: list[Inbound] = []
    with trio.fail_after(20):
        while len(got) < count:
            got.append(await node.inbound.receive())
    return got


@pytest.mark.timeout(60)
def test_four_hosts_exchange_messages_in_order_on_both_protocols() -> None:
    async def main() -> None:
        signers, specs = make_specs(4)
        async with cluster(signers, specs) as nodes:
            await wait_connected(nodes)
            for i in range(200):
                nodes[0].send(None, b"vote-%d" % i)
            nodes[1].send("n1", b"blocks" * 10_000, STATE_TRANSFER)
            for node in nodes[1:]:
                got = await collect(node, 200)
                assert [g.data for g in got] == [b"vote-%d" % i for i in range(200)]
                assert {g.member_id for g in got} == {"n1"}
                assert {g.protocol for g in got} == {CONSENSUS}
            (reply,) = await collect(nodes[0], 1)
            assert reply == Inbound("n2", STATE_TRANSFER, b"blocks" * 10_000)
            assert nodes[0].stats["send_dropped:queue_full"] == 0
    trio.run(main)


@pytest.mark.timeout(60)
def test_peer_id_is_the_key_file_identity_and_survives_restart(tmp_path: object) -> None:
    async def main() -> None:
        signers, specs = make_specs(2)
        async with cluster(signers, specs) as nodes:
            first = nodes[1].peer_id
            await wait_connected(nodes)
        # restart node 2 from the same key: node 1 sees the same peer and reconnects
        async with cluster(signers, specs) as nodes:
            assert nodes[1].peer_id == first == specs[1].peer_id
            await wait_connected(nodes)
            nodes[1].send("n1", b"again")
            assert (await collect(nodes[0], 1))[0].data == b"again"
    trio.run(main)


@pytest.mark.timeout(60)
def test_lost_peer_is_redialled_without_the_60s_block() -> None:
    async def main() -> None:
        signers, specs = make_specs(3)
        nodes = [P2PNode(s.member_id, k, s.addr, specs, FAST) for k, s in zip(signers, specs, strict=True)]
        async with trio.open_nursery() as outer:
            await outer.start(nodes[0].run)
            await outer.start(nodes[1].run)
            # n3 is down: n1 and n2 fail to dial it several times (this used to blacklist it for 60 s)
            await trio_wait_until(lambda: all(n.stats.total() >= 3 for n in nodes[:2]), 20,
                                  "n1 and n2 failed to dial the absent n3 three times each")
            async with trio.open_nursery() as inner:
                await inner.start(nodes[2].run)
                await wait_connected(nodes)
                nodes[2].send(None, b"hello")
                for node in nodes[:2]:
                    assert (await collect(node, 1))[0].data == b"hello"
                await trio_wait_until(lambda: all("n3" in n.reachable_peers() for n in nodes[:2]), 20,
                                      "both directions to n3 open: n3 reachable from n1 and n2")
                inner.cancel_scope.cancel()
            # its connections closed: unreachable, long before silence
            await trio_wait_until(lambda: not any("n3" in n.reachable_peers() for n in nodes[:2]), 20,
                                  "the stopped n3 unreachable from n1 and n2")
            assert nodes[0].reachable_peers() == {"n2"}
            # n3 went away again; it comes back as a fresh process with the same key
            nodes[2] = P2PNode("n3", signers[2], specs[2].addr, specs, FAST)
            async with trio.open_nursery() as inner:
                await inner.start(nodes[2].run)
                await wait_connected(nodes)
                nodes[0].send("n3", b"welcome back")
                assert (await collect(nodes[2], 1))[0].data == b"welcome back"
                inner.cancel_scope.cancel()
            outer.cancel_scope.cancel()
    trio.run(main)


@pytest.mark.timeout(60)
def test_a_member_coming_back_is_dialled_back_when_it_dials_in_not_after_the_backoff() -> None:
    # every failed dial is followed by a 48-72 s backoff: n1 can only reach n2 within the wait
    # below if n2's own stream to n1 ends n1's backoff (what a restarted member does)
    slow = P2PSettings(max_frame_bytes=64 * 1024, heartbeat_s=0.2, silent_after_s=5.0,
                       backoff_min_s=60.0, backoff_max_s=60.0, dial_timeout_s=3.0, write_timeout_s=3.0)

    async def main() -> None:
        signers, specs = make_specs(2)
        n1, n2 = (P2PNode(s.member_id, k, s.addr, specs, slow) for k, s in zip(signers, specs, strict=True))
        async with trio.open_nursery() as outer:
            await outer.start(n1.run)
            await trio_wait_until(lambda: n1.stats.total() >= 2, 20,
                                  "n1's two writers failed to dial the absent n2 (now in their backoff)")
            failed = n1.stats.total()
            await outer.start(n2.run)
            await trio_wait_until(lambda: n1.connected_peers() == ["n2"], 20, "n1's writer to n2 up")
            assert n1.stats.total() == failed      # no further failed dial: one dial, when n2 came
            n1.send("n2", b"welcome back")
            assert (await collect(n2, 1))[0].data == b"welcome back"
            outer.cancel_scope.cancel()
    trio.run(main)


@pytest.mark.timeout(60)
def test_stranger_cannot_connect_or_inject() -> None:
    async def main() -> None:
        signers, specs = make_specs(3)
        stranger_key = Signer.generate()
        stranger_spec = PeerSpec("n1", peer_id_of(stranger_key.public_key),
                                 multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{free_loopback_port()}"))
        # the stranger believes it is a member and that n2 is its peer
        stranger = P2PNode("n1", stranger_key, stranger_spec.addr, [stranger_spec, specs[1]], FAST)
        async with cluster(signers, specs) as nodes, trio.open_nursery() as nursery:
            await nursery.start(stranger.run)
            await wait_connected(nodes)
            stranger.send("n2", b"forged")
            await trio_wait_until(lambda: nodes[1].stats["refused:stranger_dial"] >= 2, 20,
                                  "n2 refused the stranger's dial twice")
            assert stranger.peer_up("n2") is False
            assert stranger.host is not None
            host = stranger.host

            async def dial_and_open() -> None:
                with trio.fail_after(5):
                    await host.connect(PeerInfo(specs[1].peer_id, [specs[1].addr]))
                    await host.new_stream(specs[1].peer_id, [CONSENSUS])

            with pytest.raises(Exception):  # noqa: B017 - any libp2p failure will do
                await dial_and_open()
            nodes[0].send("n2", b"real")
            got = await collect(nodes[1], 1)
            assert got == [Inbound("n1", CONSENSUS, b"real")]
            nursery.cancel_scope.cancel()
    trio.run(main)


@pytest.mark.timeout(60)
def test_member_sending_garbage_and_oversized_frames_is_counted_and_ignored() -> None:
    async def main() -> None:
        signers, specs = make_specs(2)
        async with cluster(signers, specs) as nodes:
            await wait_connected(nodes)
            host = nodes[0].host
            assert host is not None
            stream = await host.new_stream(specs[1].peer_id, [CONSENSUS])
            oversized = HEADER.pack(FAST.max_frame_bytes + 1) + b"\x01" + b"x" * FAST.max_frame_bytes
            await stream.write(HEADER.pack(5) + b"\x07junk")
            await stream.write(oversized)
            await stream.write(encode_messages([b"after garbage"]))
            got = await collect(nodes[1], 1)
            assert got[0].data == b"after garbage"
            assert nodes[1].stats["frame_errors:bad_kind"] == 1
            assert nodes[1].stats["frame_errors:oversized"] == 1
            nodes[0].send("n2", b"normal")
            assert (await collect(nodes[1], 1))[0].data == b"normal"
            await stream.close()
    trio.run(main)


@pytest.mark.timeout(60)
def test_slow_peer_fills_only_its_own_queue() -> None:
    async def main() -> None:
        signers, specs = make_specs(3)
        base = dict(max_frame_bytes=64 * 1024, queue_max_messages=50, heartbeat_s=0.2,
                    silent_after_s=30.0, write_timeout_s=0.5, backoff_min_s=0.05, backoff_max_s=0.2)
        settings = [P2PSettings(**base), P2PSettings(**base),  # type: ignore[arg-type]
                    P2PSettings(**base, inbound_buffer=1)]  # type: ignore[arg-type]
        nodes = [P2PNode(s.member_id, k, s.addr, specs, cfg)
                 for k, s, cfg in zip(signers, specs, settings, strict=True)]
        async with trio.open_nursery() as nursery:
            for node in nodes:
                await nursery.start(node.run)
            await wait_connected(nodes)
            # n3 never reads what it receives: its channel, its yamux window, then n1's queue for n3 fill up
            payload = b"p" * 4096
            received: list[bytes] = []
            for i in range(2000):
                nodes[0].send(None, payload + i.to_bytes(4, "big"))
                if i % 25 == 24:
                    received += [g.data for g in await collect(nodes[1], 25)]
            assert received == [payload + i.to_bytes(4, "big") for i in range(2000)]
            slow = nodes[0].queues[("n3", CONSENSUS)]
            assert slow.dropped > 0
            assert nodes[0].stats["send_dropped:queue_full"] == slow.dropped
            assert nodes[0].queues[("n2", CONSENSUS)].dropped == 0
            nursery.cancel_scope.cancel()
    trio.run(main)


async def deliver(sender: P2PNode, receiver: P2PNode, to: str, data: bytes, within_s: float) -> None:
    """Send `data` every 0.1 s until `receiver` has it, as PBFT resends what may have been lost
    (a message written on a link as it breaks is gone)."""
    with trio.fail_after(within_s):
        while True:
            sender.send(to, data)
            with trio.move_on_after(0.1):
                while True:
                    got = await receiver.inbound.receive()
                    if got.data == data:
                        return


@pytest.mark.timeout(60)
def test_a_silent_member_stream_is_detected_and_its_connection_closed() -> None:
    async def main() -> None:
        signers, specs = make_specs(2)
        async with cluster(signers, specs) as nodes:
            await wait_connected(nodes)
            host = nodes[0].host
            assert host is not None
            # a second stream from n1 that never sends a frame, not even a heartbeat
            stream = await host.new_stream(specs[1].peer_id, [CONSENSUS])
            await stream.write(encode_messages([b"one and then silence"]))
            assert (await collect(nodes[1], 1))[0].data == b"one and then silence"
            await trio_wait_until(lambda: nodes[1].stats["link_errors:silent_peer"] >= 1,
                                  FAST.silent_after_s * 5, "n2 closed the silent stream")
            # ... with its connection: both sides redial, and the link carries messages again
            await deliver(nodes[0], nodes[1], "n2", b"still here", 20)
            await trio_wait_until(lambda: nodes[1].peer_up("n1"), 20, "n2 hears n1 again")
    trio.run(main)


@pytest.mark.timeout(60)
def test_a_writer_whose_stream_the_reader_dropped_unannounced_is_made_to_redial(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a partition did to a lab: n2 closed n1's silent stream, and its RST never reached
    n1, whose yamux then wrote every later frame (votes, heartbeats) into a stream n2 no
    longer knew; n2's yamux drops such data without a word, so n1 never redialled and n2 missed
    all its votes. Here no RST is ever sent (a reset is local only, as when it is lost), and n1
    is idle long enough for n2 to find its streams silent."""
    from libp2p.stream_muxer.yamux.yamux import YamuxStream

    async def reset_unannounced(self: YamuxStream) -> None:
        self.closed = self.send_closed = self.recv_closed = self.reset_received = True
        await self.conn._finalize_stream(self, fully_closed=True)

    monkeypatch.setattr(YamuxStream, "reset", reset_unannounced)

    async def main() -> None:
        signers, specs = make_specs(2)
        quiet = P2PSettings(max_frame_bytes=64 * 1024, heartbeat_s=30.0, silent_after_s=30.0,
                            backoff_min_s=0.05, backoff_max_s=0.5, dial_timeout_s=3.0, write_timeout_s=3.0)
        hasty = P2PSettings(max_frame_bytes=64 * 1024, heartbeat_s=0.2, silent_after_s=1.0,
                            backoff_min_s=0.05, backoff_max_s=0.5, dial_timeout_s=3.0, write_timeout_s=3.0)
        nodes = [P2PNode("n1", signers[0], specs[0].addr, specs, quiet),
                 P2PNode("n2", signers[1], specs[1].addr, specs, hasty)]
        async with trio.open_nursery() as nursery:
            for node in nodes:
                await nursery.start(node.run)
            await deliver(nodes[0], nodes[1], "n2", b"before", 20)
            # n1 says nothing (its heartbeats are 30 s apart): n2 finds its streams silent
            await trio_wait_until(lambda: nodes[1].stats["link_errors:silent_peer"] >= 1
                                  and nodes[1]._readers["n1"] == 0, 20,
                                  "n2 found n1's consensus stream silent and closed it")
            # n1 never heard of it; what it sends now must still reach n2
            await deliver(nodes[0], nodes[1], "n2", b"after", 20)
            nursery.cancel_scope.cancel()
    trio.run(main)
