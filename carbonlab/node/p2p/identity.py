"""A member's libp2p identity is its Ed25519 node key: same key file, same peer ID."""

from __future__ import annotations

from libp2p.crypto.ed25519 import Ed25519PublicKey, create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from carbonlab.node.crypto import Signer
from carbonlab.node.errors import NodeError


def key_pair(signer: Signer) -> KeyPair:
    """The libp2p key pair holding the same Ed25519 key as `signer`."""
    try:
        return create_new_key_pair(signer.seed)
    except ValueError as exc:  # not reachable for keys made by `cryptography`, kept for clarity
        raise NodeError(f"key cannot be used as a libp2p identity: {exc}") from None


def peer_id_of(public_key: bytes) -> ID:
    """The peer ID of a raw 32-byte Ed25519 public key (as genesis stores it)."""
    return ID.from_pubkey(Ed25519PublicKey.from_bytes(public_key))


def peer_id_text(public_key: bytes) -> str:
    return peer_id_of(public_key).to_base58()
