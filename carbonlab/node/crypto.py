"""Ed25519 identities: signing, verifying and key files.

A node's key is also its libp2p identity; the key file holds the raw 32-byte seed
as PEM (PKCS#8), readable by `cryptography` and convertible for libp2p.

Signing and verifying go through libsodium (PyNaCl, already installed with py-libp2p):
on this project's machines it verifies about twice as fast as `cryptography`'s OpenSSL
binding (8,400-10,200 against 3,700-5,400 a second on one core, `docs/performance.md`),
and every member verifies every batch and vote. Both follow RFC 8032 for every signature an
honest signer makes; libsodium also refuses small-order and non-canonical keys and points,
which no honest key or signature uses, and every party (node, `ledger verify`) verifies
with this one function, so all of them reach the same verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from carbonlab.boundedread import TooLargeError, read_limited
from carbonlab.node.errors import NodeError, SchemaError

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_KEY_FILE_BYTES = 16 * 1024   # an Ed25519 PEM key is 119 bytes; read no more than this


class Signer:
    """Holds one private key; signs bytes."""

    __slots__ = ("_key", "_secret", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        self.public_key, self._secret = crypto_sign_seed_keypair(seed)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        if len(seed) != 32:
            raise SchemaError("seed", f"expected 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def sign(self, data: bytes) -> bytes:
        return crypto_sign(bytes(data), self._secret)[:SIGNATURE_BYTES]

    def save(self, path: Path) -> None:
        """Write the key as PEM, readable by its owner only; never overwrites an existing key."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if path.is_dir():       # also "" (the current folder)
            raise NodeError(f"{path}: is a directory; give the path of a new key file") from None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise NodeError(f"{path}: cannot create its folder: {path.parent} is a file") from None
        except OSError as exc:
            raise NodeError(f"{path}: cannot create its folder {path.parent} ({exc.strerror})") from None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise NodeError(f"{path}: already exists; refusing to overwrite a key") from None
        except OSError as exc:
            raise NodeError(f"{path}: cannot create the key file ({exc.strerror})") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        except OSError as exc:      # a full disk: no half key left behind
            path.unlink(missing_ok=True)
            raise NodeError(f"{path}: cannot write the key file ({exc.strerror})") from None

    @classmethod
    def load(cls, path: Path) -> Signer:
        try:
            data = read_limited(path, MAX_KEY_FILE_BYTES)
        except OSError as exc:
            raise NodeError(f"{path}: cannot read key file ({exc.strerror})") from None
        except TooLargeError as exc:   # /dev/zero, a log file given by mistake: never read whole
            raise NodeError(f"{path}: not a PEM private key ({exc}: a key file is small)") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise NodeError(f"{path}: not a PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise NodeError(f"{path}: expected an Ed25519 key, got {type(key).__name__}")
        return cls(key)


def verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `data` under `public_key`."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        crypto_sign_open(bytes(signature) + bytes(data), bytes(public_key))
    except BadSignatureError:
        return False
    return True
