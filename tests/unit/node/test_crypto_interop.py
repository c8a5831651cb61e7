"""Ed25519 through libsodium (carbonlab/node/crypto.py) is the same RFC 8032 signature as
OpenSSL's through `cryptography`: each verifies what the other signs, both refuse what the
other refuses, and a key file written by one is the key the other signs with."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from carbonlab.node.crypto import Signer, verify

MESSAGES = [b"", b"x", bytes(range(256)) * 40]


def _openssl_verifies(public_key: bytes, signature: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("data", MESSAGES, ids=["empty", "one-byte", "10k"])
def test_each_verifies_what_the_other_signs(data: bytes) -> None:
    ours = Signer.generate()
    assert _openssl_verifies(ours.public_key, ours.sign(data), data)
    theirs = Ed25519PrivateKey.generate()
    public = Signer.from_seed(theirs.private_bytes_raw()).public_key
    assert public == theirs.public_key().public_bytes_raw()
    assert verify(public, theirs.sign(data), data)
    # deterministic signatures: the very same bytes from either library
    assert Signer.from_seed(theirs.private_bytes_raw()).sign(data) == theirs.sign(data)


def test_both_refuse_a_flipped_bit_anywhere() -> None:
    signer = Signer.generate()
    data = b"reading 42"
    signature = signer.sign(data)
    for i in (0, 31, 32, 63):
        bad = bytearray(signature)
        bad[i] ^= 1
        assert not verify(signer.public_key, bytes(bad), data)
        assert not _openssl_verifies(signer.public_key, bytes(bad), data)
    assert not verify(signer.public_key, signature, data + b"!")
    assert not _openssl_verifies(signer.public_key, signature, data + b"!")


def test_a_key_file_is_the_same_key_in_both(tmp_path: Path) -> None:
    signer = Signer.generate()
    path = tmp_path / "node.key"
    signer.save(path)
    loaded = Signer.load(path)
    assert loaded.public_key == signer.public_key
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert key.sign(b"m") == loaded.sign(b"m")
