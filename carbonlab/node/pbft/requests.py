"""Client requests as the replica sees them: canonical batch bytes identified by (gateway_id, batch_seq).

The replica does not judge a batch (the contract does, at execution); it only needs
its identity to refuse duplicates: the same bytes, or the same (gateway_id, batch_seq),
are never proposed twice while pending, nor again once executed.
"""

from __future__ import annotations

from typing import Any

from carbonlab.node import codec
from carbonlab.node.errors import SchemaError
from carbonlab.node.model import MAX_BATCH_BYTES, MAX_ID_LEN

RequestKey = tuple[str, int]


def request_key(data: bytes) -> RequestKey | None:
    """(gateway_id, batch_seq) of canonical batch bytes, or None when they are not a batch at all."""
    if len(data) > MAX_BATCH_BYTES:
        return None
    try:
        value: Any = codec.decode(data, "batch", max_bytes=MAX_BATCH_BYTES)
    except SchemaError:
        return None
    if not isinstance(value, list) or len(value) != 5:
        return None
    gateway, seq = value[1], value[2]
    if not isinstance(gateway, str) or not gateway or len(gateway) > MAX_ID_LEN:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        return None
    return (gateway, seq)
