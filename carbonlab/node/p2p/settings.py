"""What configures the member-to-member transport, apart from the transport itself: NODE.toml's
`[p2p]` table and a peer's address. Light on purpose (no py-libp2p import): `node/config.py`
and the playbooks' filter that writes NODE.toml read these, and each Ansible worker that renders
a template loads that filter anew (py-libp2p's import cost about 1 s of CPU per worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from carbonlab.fields import spec, timer_s
from carbonlab.node.p2p.frames import DEFAULT_MAX_FRAME_BYTES

if TYPE_CHECKING:
    import multiaddr
    from libp2p.peer.id import ID


@dataclass(frozen=True, slots=True)
class P2PSettings:
    """NODE.toml's `[p2p]` table: each default and range declared once (read by `node/config.py`)."""

    max_frame_bytes: int = spec(DEFAULT_MAX_FRAME_BYTES, lo=1024, hi=256 * 1024 * 1024)
    queue_max_messages: int = spec(20_000, lo=1, hi=10_000_000)
    queue_max_bytes: int = spec(64 * 1024 * 1024, lo=1024, hi=4 * 1024 * 1024 * 1024)
    write_timeout_s: float = timer_s(10.0)
    dial_timeout_s: float = timer_s(5.0)
    heartbeat_s: float = timer_s(1.0)
    silent_after_s: float = timer_s(10.0)
    backoff_min_s: float = timer_s(0.1)
    backoff_max_s: float = timer_s(3.0)
    inbound_buffer: int = spec(10_000, lo=1, hi=10_000_000)


@dataclass(frozen=True, slots=True)
class PeerSpec:
    member_id: str
    peer_id: ID
    addr: multiaddr.Multiaddr  # without the /p2p part
