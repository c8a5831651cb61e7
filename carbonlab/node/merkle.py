"""Merkle trees over byte strings, RFC 6962 style.

Leaves are hashed as H(0x00 || leaf) and inner nodes as H(0x01 || left || right),
so a leaf can never pass for an inner node (no second-preimage trick). An odd node
at any level is promoted unchanged, as in RFC 6962's split at the largest power of
two below n. The empty tree's root is H(b"").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 1:
        return hashes[0]
    k = _split(n)
    return _node(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def root(leaves: Sequence[bytes]) -> bytes:
    """Level by level, pairing from the left and promoting a last odd node: the same tree as
    RFC 6962's recursive split (the tests check it against `_root_of_hashes`), without recursion."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    sha = hashlib.sha256
    level = [sha(_LEAF + x).digest() for x in leaves]
    while len(level) > 1:
        nxt = [sha(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for leaf `index`: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} out of range 0..{len(leaves) - 1}")
    hashes = [leaf_hash(x) for x in leaves]
    path: list[bytes] = []

    def walk(lo: int, hi: int) -> None:
        if hi - lo == 1:
            return
        k = _split(hi - lo)
        if index < lo + k:
            walk(lo, lo + k)
            path.append(_root_of_hashes(hashes[lo + k:hi]))
        else:
            walk(lo + k, hi)
            path.append(_root_of_hashes(hashes[lo:lo + k]))

    walk(0, len(hashes))
    return path


def verify(leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes) -> bool:
    """True when `path` proves `leaf` is leaf `index` of a tree of `size` leaves with that root."""
    if not 0 <= index < size:
        return False
    # Rebuild the sequence of split decisions from the top, then fold bottom-up.
    sides: list[bool] = []  # True: sibling is on the right
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            sides.append(True)
            hi = lo + k
        else:
            sides.append(False)
            lo = lo + k
    if len(sides) != len(path):
        return False
    acc = leaf_hash(leaf)
    for sibling, right in zip(path, reversed(sides), strict=True):
        acc = _node(acc, sibling) if right else _node(sibling, acc)
    return acc == expected_root
