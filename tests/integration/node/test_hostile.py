"""Strangers and misbehaving members against real node processes."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import multiaddr
import pytest
import trio
from libp2p.peer.peerinfo import PeerInfo

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.node.crypto import Signer
from carbonlab.node.p2p.frames import HEADER, encode_messages
from carbonlab.node.p2p.host import CONSENSUS, P2PNode, P2PSettings, PeerSpec
from carbonlab.node.p2p.identity import peer_id_of
from carbonlab.node.pbft.envelope import seal
from carbonlab.node.pbft.messages import Status
from tests.integration.node.conftest import converge, run_feeds
from tests.waiting import trio_wait_until_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
SETTINGS = P2PSettings(max_frame_bytes=64 * 1024, backoff_min_s=0.05, backoff_max_s=0.5)
# what every honest member must have counted once the attack has landed: (metric, labels)
ATTACK_SEEN = (
    ("carbonlab_p2p_refused_total", 'reason="stranger_dial"'),
    ("carbonlab_frame_errors_total", 'reason="bad_kind"'),
    ("carbonlab_frame_errors_total", 'reason="oversized"'),
    ("carbonlab_replica_dropped_total", 'reason="undecodable"'),
    ("carbonlab_replica_dropped_total", 'reason="bad_signature"'),
)


def metric(cluster: LocalCluster, member: str, name: str, labels: str = "") -> float:
    text = httpx.get(f"{cluster.url(member)}/metrics", timeout=10).text
    pattern = re.escape(name + ("{" + labels + "}" if labels else "")) + r" ([0-9.e+]+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def attack_not_seen(cluster: LocalCluster, members: list[str]) -> list[tuple[str, str, str]]:
    """The (member, metric, labels) of ATTACK_SEEN still at zero."""
    return [(m, name, labels) for m in members for name, labels in ATTACK_SEEN
            if metric(cluster, m, name, labels) < 1]


def specs_of(cluster: LocalCluster, members: list[str]) -> list[PeerSpec]:
    return [PeerSpec(m, peer_id_of(cluster.genesis.member_keys[m]),
                     multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{cluster.p2p_ports[m]}")) for m in members]


@pytest.mark.timeout(600)
def test_stranger_is_refused_and_a_member_sending_garbage_is_ignored(
        make_cluster: Callable[..., LocalCluster]) -> None:
    cluster = make_cluster(7)
    honest = [m for m in cluster.members if m != "n7"]
    for member in honest:
        cluster.start(member)
    cluster.wait_ready(honest, timeout_s=90)
    feeds = cluster.feeds()
    run_feeds(cluster, feeds, 1, honest)

    async def attack() -> None:
        targets = specs_of(cluster, honest)
        # a stranger: its own key, not in genesis, dials every member
        stranger_key = Signer.generate()
        me = PeerSpec("n7", peer_id_of(stranger_key.public_key), multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0"))
        stranger = P2PNode("n7", stranger_key, me.addr, [me, *targets], SETTINGS)
        # a member gone rogue: n7's real key, sending garbage, oversized and replayed frames
        n7_key = Signer.load(cluster.root / "keys" / "n7.key")
        rogue = P2PNode("n7", n7_key, multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0"),
                        [*targets, me], SETTINGS)
        async with trio.open_nursery() as nursery:
            await nursery.start(stranger.run)
            for spec in targets:
                stranger.send(spec.member_id, b"let me in")
            await nursery.start(rogue.run)
            host = rogue.host
            assert host is not None
            status = seal(n7_key, cluster.genesis.chain_id, "n7", Status(0, 0))
            forged = seal(n7_key, cluster.genesis.chain_id, "n1", Status(0, 0))  # claims to be n1
            for spec in targets:
                with trio.fail_after(20):
                    await host.connect(PeerInfo(spec.peer_id, [spec.addr]))
                    stream = await host.new_stream(spec.peer_id, [CONSENSUS])
                    await stream.write(HEADER.pack(5) + b"\x09junk")                      # bad kind
                    await stream.write(HEADER.pack(20 * 1024 * 1024) + b"\x01" + b"z" * 65536)  # oversized
                    await stream.write(b"y" * (20 * 1024 * 1024 - 65536 - 1))
                    await stream.write(encode_messages([b"\x00garbage", forged] + [status] * 50))
                    await stream.close()
            # the stranger and the rogue keep running until every honest member has counted it all
            await trio_wait_until_in_thread(lambda: not attack_not_seen(cluster, honest), 60,
                                            "every honest member counted every attack",
                                            poll_s=0.2)
            nursery.cancel_scope.cancel()

    trio.run(attack)
    for member in honest:
        assert metric(cluster, member, "carbonlab_p2p_refused_total", 'reason="stranger_dial"') >= 1
        assert metric(cluster, member, "carbonlab_frame_errors_total", 'reason="bad_kind"') >= 1
        assert metric(cluster, member, "carbonlab_frame_errors_total", 'reason="oversized"') >= 1
        assert metric(cluster, member, "carbonlab_replica_dropped_total", 'reason="undecodable"') >= 1
        assert metric(cluster, member, "carbonlab_replica_dropped_total", 'reason="bad_signature"') >= 1
        assert cluster.status(member) is not None
    # the honest members carry on, and agree
    run_feeds(cluster, feeds, 2, honest)
    converge(cluster, honest)
