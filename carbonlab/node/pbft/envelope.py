"""Signed envelopes: sealing outgoing messages and opening incoming ones.

`open_envelope` is the single gate every byte from the network passes: size limit,
canonical decoding, known kind, membership, body schema, signature. A failure raises
`Rejected(reason)`, which the replica counts in `dropped` instead of letting it out.
`SignatureCache` remembers signatures that verified (keyed by signer, signature and a
hash of the signed bytes) so a vote seen directly and again inside a VIEW-CHANGE,
NEW-VIEW or certificate is verified once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from carbonlab.node import codec
from carbonlab.node.crypto import SIGNATURE_BYTES, Signer, verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.pbft.messages import BODY_CLASSES, MAX_ENVELOPE_BYTES, Body, Kind, signed_bytes


class Rejected(Exception):
    """A message is dropped; `reason` is the counter name in `Replica.dropped`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class SignatureCache:
    """Verifies Ed25519 signatures, remembering the ones that were valid (bounded, FIFO)."""

    def __init__(self, keys: dict[str, bytes], capacity: int = 100_000) -> None:
        self.keys = keys
        self.capacity = capacity
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self.verified = 0
        self.hits = 0

    def check(self, member: str, signature: bytes, data: bytes) -> bool:
        key = self.keys.get(member)
        if key is None:
            return False
        token = member.encode() + b"\0" + signature + codec.sha256(data)
        if token in self._ok:
            self.hits += 1
            return True
        self.verified += 1
        if not verify(key, signature, data):
            return False
        self._ok[token] = None
        if len(self._ok) > self.capacity:
            self._ok.popitem(last=False)
        return True


def seal(signer: Signer, chain_id: str, sender: str, body: Body) -> bytes:
    sig = signer.sign(signed_bytes(chain_id, sender, body))
    return codec.encode([sender, int(body.KIND), body.to_wire(), sig])


def seal_with(sig: bytes, sender: str, body: Body) -> bytes:
    """An envelope around an existing signature (a vote signed earlier)."""
    return codec.encode([sender, int(body.KIND), body.to_wire(), sig])


def open_envelope(data: bytes, chain_id: str, cache: SignatureCache,
                  max_bytes: int = MAX_ENVELOPE_BYTES) -> tuple[str, Body, bytes]:
    """(sender, body, signature) of a valid envelope, else `Rejected`."""
    if not isinstance(data, bytes | bytearray):
        raise Rejected("not_bytes")
    if len(data) > max_bytes:
        raise Rejected("oversized", f"{len(data)} bytes")
    try:
        value: Any = codec.decode(bytes(data), "envelope", max_bytes=max_bytes)
    except SchemaError as exc:
        raise Rejected("undecodable", str(exc)) from None
    if not isinstance(value, list) or len(value) != 4:
        raise Rejected("malformed", "envelope is not [sender, kind, body, signature]")
    sender, kind, body_wire, sig = value
    if not isinstance(sender, str) or sender not in cache.keys:
        raise Rejected("unknown_sender", repr(sender)[:80])
    if isinstance(kind, bool) or not isinstance(kind, int) or kind not in BODY_CLASSES:
        raise Rejected("unknown_kind", repr(kind)[:40])
    if not isinstance(sig, bytes) or len(sig) != SIGNATURE_BYTES:
        raise Rejected("malformed", "signature is not 64 bytes")
    try:
        body: Body = BODY_CLASSES[Kind(kind)].from_wire(body_wire)
    except SchemaError as exc:
        raise Rejected("malformed", str(exc)) from None
    except (ValueError, TypeError) as exc:  # a schema check the field helpers do not cover
        raise Rejected("malformed", str(exc)) from None
    if not cache.check(sender, sig, signed_bytes(chain_id, sender, body)):
        raise Rejected("bad_signature", f"from {sender}")
    return sender, body, sig


def peek_kind(data: bytes) -> Kind | None:
    """The kind of an envelope `[sender, kind, body, sig]` without checking it (for metrics and
    for choosing the stream); None when its first bytes are not an envelope's.

    Only the header is read: the canonical encoding puts a 4-array marker, the sender (a str of
    at most 255 bytes) and then the kind (a positive fixint) first, so a 16 MiB BLOCKS message
    costs no more to name than a PREPARE."""
    if len(data) < 3 or data[0] != 0x94:
        return None
    b = data[1]
    if 0xA0 <= b <= 0xBF:          # fixstr
        pos = 2 + (b & 0x1F)
    elif b == 0xD9:                # str8
        pos = 3 + data[2]
    else:
        return None
    if pos >= len(data) or data[pos] not in BODY_CLASSES:
        return None
    return Kind(data[pos])
