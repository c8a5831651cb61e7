"""Noise that admits genesis members only.

The peer ID is known for certain only once the Noise handshake has authenticated
the remote key, so the membership check sits right there: an inbound connection
from a key genesis does not name is closed before any muxer, identify exchange or
stream exists. Outbound dials go only to members, and Noise itself checks that the
remote proves the peer ID we dialled.
"""

from __future__ import annotations

from collections.abc import Callable

from libp2p.abc import IRawConnection, ISecureConn
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.peer.id import ID
from libp2p.security.exceptions import HandshakeFailure
from libp2p.security.noise.transport import Transport as NoiseTransport


class MembersOnlyNoise(NoiseTransport):
    def __init__(self, key_pair: KeyPair, members: frozenset[ID],
                 on_refused: Callable[[str, ID], None]) -> None:
        super().__init__(key_pair, noise_privkey=new_x25519_key_pair().private_key)
        self.members = members
        self.on_refused = on_refused

    async def secure_inbound(self, conn: IRawConnection) -> ISecureConn:
        secure = await super().secure_inbound(conn)
        remote = secure.get_remote_peer()
        if remote not in self.members:
            self.on_refused("stranger_dial", remote)
            await secure.close()
            raise HandshakeFailure(f"peer {remote} is not a genesis member")
        return secure

    async def secure_outbound(self, conn: IRawConnection, peer_id: ID) -> ISecureConn:
        if peer_id not in self.members:
            self.on_refused("stranger_target", peer_id)
            raise HandshakeFailure(f"refusing to dial {peer_id}: not a genesis member")
        return await super().secure_outbound(conn, peer_id)
