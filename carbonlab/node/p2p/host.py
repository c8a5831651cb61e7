"""The member-to-member transport: a libp2p host that talks to genesis members only.

Theory of operation. Each member runs one libp2p host (TCP, Noise only, yamux)
whose identity is its node key. For every other member and each of the two
protocols (consensus, state transfer) it keeps one outbound stream, owned by one
writer task: the task dials (with its own exponential backoff; py-libp2p's 60 s
negative dial cache and its internal retries are switched off), opens the stream,
then writes frames taken from that peer's bounded `SendQueue`, coalescing every
message waiting into one frame. Every write has a timeout; a timeout or an error
drops the stream and the task starts over. When there is nothing to send it writes
a heartbeat, so the other side can tell a silent peer from a quiet one.

Inbound, the host accepts the streams members open (the `MembersOnlyNoise` gate has
already refused strangers at the handshake; the stream handler checks again),
decodes frames with a `FrameDecoder` and hands each message to the node through a
bounded channel. A stream that stays silent longer than `silent_after_s` is
closed together with the connection, which makes both sides redial. A member that
opens a stream to us ends the backoff of our writers to it, so a restarted member is
dialled back at once rather than after a backoff grown while it was down (start-up, issue 17).

So each direction of each pair has its own stream and its own writer: no tie-break
between simultaneous dials is needed, and a slow peer only ever fills its own queue.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.config import RetryConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

from carbonlab.node.crypto import Signer
from carbonlab.node.p2p import yamux_credit
from carbonlab.node.p2p.frames import FrameDecoder, encode_heartbeat
from carbonlab.node.p2p.gate import MembersOnlyNoise
from carbonlab.node.p2p.identity import key_pair
from carbonlab.node.p2p.queue import SendQueue
from carbonlab.node.p2p.settings import P2PSettings, PeerSpec

log = logging.getLogger("carbonlab.node.p2p")

CONSENSUS = TProtocol("/carbonlab/pbft/1.0.0")
STATE_TRANSFER = TProtocol("/carbonlab/state/1.0.0")
PROTOCOLS = (CONSENSUS, STATE_TRANSFER)
READ_CHUNK = 256 * 1024


class Inbound(NamedTuple):
    member_id: str
    protocol: str
    data: bytes


class P2PNode:
    """Owns the libp2p host; `send()` never blocks, `inbound` yields what members sent."""

    def __init__(self, member_id: str, signer: Signer, listen: multiaddr.Multiaddr,
                 peers: list[PeerSpec], settings: P2PSettings | None = None,
                 deliver: trio.MemorySendChannel[Inbound] | None = None) -> None:
        self.member_id = member_id
        self.settings = s = settings or P2PSettings()
        self.listen = listen
        self.peers = {p.member_id: p for p in peers if p.member_id != member_id}
        self._by_peer_id = {p.peer_id: p.member_id for p in self.peers.values()}
        self._key_pair = key_pair(signer)
        self.stats: Counter[str] = Counter()   # "<what>:<reason>" -> count, read by metrics
        self.messages: Counter[tuple[str, str]] = Counter()  # (protocol, direction)
        self.queues: dict[tuple[str, str], SendQueue] = {
            (m, proto): SendQueue(s.queue_max_messages, s.queue_max_bytes, s.max_frame_bytes)
            for m in self.peers for proto in PROTOCOLS}
        self._writer_up: dict[tuple[str, str], bool] = dict.fromkeys(self.queues, False)
        self._last_heard: dict[str, float] = {}
        self._readers: Counter[str] = Counter()   # member -> its open inbound consensus streams
        # set (and replaced) when a member opens a stream to us: its writers' backoff ends
        self._redial: dict[str, trio.Event] = {m: trio.Event() for m in self.peers}
        # what members send goes to `deliver` when given, else to `self.inbound`
        self._send_in, self.inbound = trio.open_memory_channel[Inbound](s.inbound_buffer)
        if deliver is not None:
            self._send_in = deliver
        self.host: IHost | None = None
        self.on_peer_change: Callable[[], None] = lambda: None

    # -- public ---------------------------------------------------------------------------
    def send(self, to: str | None, data: bytes, protocol: str = CONSENSUS) -> None:
        targets = list(self.peers) if to is None else [to]
        for member in targets:
            queue = self.queues.get((member, protocol))
            if queue is None:
                self.stats["send_dropped:unknown_member"] += 1
                continue
            before = queue.dropped
            if not queue.put(data):
                self.stats["send_dropped:too_large"] += 1
                log.warning("message too large for a frame", extra={"peer": member, "bytes": len(data)})
            elif queue.dropped != before:
                self.stats["send_dropped:queue_full"] += queue.dropped - before

    def peer_up(self, member: str) -> bool:
        heard = self._last_heard.get(member)
        return (self._writer_up.get((member, CONSENSUS), False) and heard is not None
                and trio.current_time() - heard <= self.settings.silent_after_s)

    def reachable_peers(self) -> set[str]:
        """Members with both directions open now: our stream to them and theirs to us.

        A member that crashes closes its connections, so it leaves this set at once; a
        silent one (hung, partitioned without a reset) when its heartbeats stop."""
        return {m for m in self.peers if self._readers[m] > 0 and self.peer_up(m)}

    def connected_peers(self) -> list[str]:
        return sorted(m for m in self.peers if self.peer_up(m))

    @property
    def peer_id(self) -> ID:
        return ID.from_pubkey(self._key_pair.public_key)

    def listen_addrs(self) -> list[multiaddr.Multiaddr]:
        return list(self.host.get_addrs()) if self.host else []

    # -- running --------------------------------------------------------------------------
    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        # py-libp2p's yamux answers nearly every read with a WINDOW_UPDATE frame; go-yamux
        # credits once half the window is consumed (yamux_credit.py)
        yamux_credit.install()
        members = frozenset(self._by_peer_id) | {self.peer_id}
        noise = MembersOnlyNoise(self._key_pair, members, self._refused)
        host = new_host(key_pair=self._key_pair, sec_opt={NOISE_PROTOCOL_ID: noise},
                        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux}, listen_addrs=[self.listen])
        network: Any = host.get_network()
        network.retry_config = RetryConfig(max_retries=0)   # we back off ourselves
        self.host = host
        for proto in PROTOCOLS:
            host.set_stream_handler(proto, self._make_handler(proto))
        async with host.run(listen_addrs=[self.listen]), trio.open_nursery() as nursery:
            for member, name in self.queues:
                nursery.start_soon(self._writer, member, TProtocol(name))
            task_status.started()
            await trio.sleep_forever()

    def _refused(self, reason: str, peer: ID) -> None:
        self.stats[f"refused:{reason}"] += 1
        log.warning("refused peer", extra={"reason": reason, "peer_id": str(peer)})

    async def _writer(self, member: str, proto: TProtocol) -> None:
        s = self.settings
        spec = self.peers[member]
        queue = self.queues[(member, proto)]
        backoff = s.backoff_min_s
        host = self.host
        assert host is not None
        network: Any = host.get_network()
        while True:
            stream: INetStream | None = None
            phase = "connect"
            write_timed_out = False
            try:
                with trio.fail_after(s.dial_timeout_s):
                    network.unblock_peer(spec.peer_id)  # py-libp2p's 60 s negative cache
                    await host.connect(PeerInfo(spec.peer_id, [spec.addr]))
                    phase = "open_stream"
                    stream = await host.new_stream(spec.peer_id, [proto])
                phase = "write"
                self._set_up(member, proto, True)
                backoff = s.backoff_min_s
                await self._pump(stream, queue, member, proto)
            except trio.Cancelled:
                raise
            except trio.TooSlowError:
                write_timed_out = phase == "write"
                self.stats[f"link_errors:timeout_{phase}"] += 1
                log.info("link timed out", extra={"peer": member, "protocol": proto, "phase": phase})
            except Exception as exc:  # noqa: BLE001 - libp2p raises many unrelated types
                self.stats[f"link_errors:{type(exc).__name__}"] += 1
                log.debug("link down", extra={"peer": member, "protocol": proto, "error": repr(exc)})
            finally:
                self._set_up(member, proto, False)
                with trio.CancelScope(shield=True):
                    if stream is not None and not write_timed_out:
                        with trio.move_on_after(s.write_timeout_s) as scope:
                            await _reset(stream)
                        write_timed_out = scope.cancelled_caught
                    if write_timed_out:
                        # a frame was cut short: the secure channel's state is unknown,
                        # so the whole connection goes and both sides redial
                        await self._drop_connection(member)
            # a member that opens a stream to us is back (a restart): redial it now, not after
            # the rest of a backoff that grew while it was down
            woken = self._redial[member]
            with trio.move_on_after(backoff * random.uniform(0.8, 1.2)):
                await woken.wait()
            backoff = min(backoff * 2, s.backoff_max_s)

    async def _drop_connection(self, member: str) -> None:
        host = self.host
        assert host is not None
        with trio.move_on_after(self.settings.write_timeout_s):
            try:
                await host.disconnect(self.peers[member].peer_id)
            except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail any way
                log.debug("disconnect failed", extra={"peer": member, "error": repr(exc)})

    async def _pump(self, stream: INetStream, queue: SendQueue, member: str, proto: str) -> None:
        s = self.settings
        while True:
            with trio.move_on_after(s.heartbeat_s):
                await queue.wait()
            frame, count = queue.take_frame()
            if not count:
                frame = encode_heartbeat()
            with trio.move_on_after(s.write_timeout_s) as scope:
                await stream.write(frame)
            if scope.cancelled_caught:
                self.stats["send_dropped:write_timeout"] += count
                raise trio.TooSlowError(f"write to {member} timed out")
            self.messages[(proto, "out")] += count

    def _set_up(self, member: str, proto: str, up: bool) -> None:
        if self._writer_up.get((member, proto)) != up:
            self._writer_up[(member, proto)] = up
            self.on_peer_change()

    def _make_handler(self, proto: TProtocol) -> Callable[[INetStream], Any]:
        async def handler(stream: INetStream) -> None:
            await self._read(stream, proto)
        return handler

    async def _read(self, stream: INetStream, proto: str) -> None:
        s = self.settings
        remote = stream.muxed_conn.peer_id
        member = self._by_peer_id.get(remote)
        if member is None:
            self._refused("stranger_stream", remote)
            await _reset(stream)
            return
        self._redial[member].set()
        self._redial[member] = trio.Event()
        decoder = FrameDecoder(s.max_frame_bytes)
        counted = proto == CONSENSUS
        if counted:
            self._readers[member] += 1
        silent = False
        try:
            while True:
                with trio.move_on_after(s.silent_after_s) as scope:
                    data = await stream.read(READ_CHUNK)
                if scope.cancelled_caught:
                    silent = True
                    self.stats["link_errors:silent_peer"] += 1
                    log.warning("peer silent, closing its connection", extra={"peer": member})
                    return
                if not data:
                    return
                self._last_heard[member] = trio.current_time()
                decoded = decoder.feed(data)
                for reason in decoded.errors:
                    self.stats[f"frame_errors:{reason}"] += 1
                    log.warning("bad frame ignored", extra={"peer": member, "reason": reason})
                self.messages[(proto, "in")] += len(decoded.messages)
                for msg in decoded.messages:
                    await self._send_in.send(Inbound(member, proto, msg))
        except trio.Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken stream ends this reader, nothing else
            self.stats[f"link_errors:{type(exc).__name__}"] += 1
            log.debug("inbound stream ended", extra={"peer": member, "error": repr(exc)})
        finally:
            if counted:
                self._readers[member] -= 1
            with trio.CancelScope(shield=True):
                with trio.move_on_after(s.write_timeout_s):
                    await _reset(stream)
                if silent:
                    # The stream's RST may never reach the writer (it goes where the silence
                    # came from: a cut link), and py-libp2p's yamux drops data for a stream it no
                    # longer knows without a word or a window update: the writer would go on
                    # writing into nothing, its heartbeats too, and this member would miss every
                    # vote of that peer (a lab that had been partitioned stalled with f faulty).
                    # Closing the connection ends it at the TCP level, which the writer cannot miss.
                    await self._drop_connection(member)


async def _reset(stream: INetStream) -> None:
    with contextlib.suppress(Exception):  # already broken is fine
        await stream.reset()
