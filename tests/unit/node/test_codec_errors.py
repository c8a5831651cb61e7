"""`codec.decode` names what is wrong with every buffer msgpack refuses: an outsider's re-test
found `{"error": "batch: not valid msgpack ()"}` for the reserved byte 0xc1 (msgpack's
FormatError, like its StackError, has no text of its own)."""

from __future__ import annotations

import httpx
import pytest

from carbonlab.node import codec
from carbonlab.node.errors import SchemaError
from carbonlab.node.model import BATCH_MEDIA_TYPE
from tests.unit.node.api.apiserver import running_api

HOSTILE = [
    (b"\xc1", "FormatError: a reserved type byte (0xc1"),
    (b"\x92\x01\xc1", "reserved type byte"),
    (b"", "incomplete input"),
    (b"\x92\x01", "ends inside a value"),
    (b"\xd9\x05ab", "ends inside a value"),
    (b"\xcb\x00", "ends inside a value"),
    (b"\x01\x02\x03", "ExtraData: 2 bytes after the value"),
    (b"\xa3\xff\xfe\xfd", "UnicodeDecodeError: a string is not UTF-8"),
    (b"\x81\x01\x02", "exceeds max_map_len"),
    (b"\xdd\xff\xff\xff\xff", "exceeds max_array_len"),
    (b"\xd4\x01\x02", "an extension type (code 1"),
    (b"\xc7\x03\xff\x00\x00\x00", "ValueError: invalid timestamp data"),
    (b"\xd7\xff" + b"\xff" * 8, "ValueError: nanoseconds must be"),
    (b"\x91" * 5000 + b"\xc0", "StackError: arrays nested too deeply"),
]


@pytest.mark.parametrize(("buf", "reason"), HOSTILE, ids=[repr(b[:6]) for b, _ in HOSTILE])
def test_every_refused_buffer_names_what_is_wrong(buf: bytes, reason: str) -> None:
    with pytest.raises(SchemaError) as caught:
        codec.decode(buf, "batch")
    text = str(caught.value)
    assert reason in text
    assert "()" not in text
    assert text.startswith("batch: not valid msgpack (")
    assert text.endswith(")")


def test_the_api_says_why_a_msgpack_batch_is_refused() -> None:
    """The outsider's request itself, to the node's real API server."""
    with running_api() as port:
        got = httpx.post(f"http://127.0.0.1:{port}/v1/batches", content=b"\xc1",
                         headers={"content-type": BATCH_MEDIA_TYPE}, timeout=30)
    assert got.status_code == 400
    assert got.json() == {"error": "batch: not valid msgpack (FormatError: a reserved type byte (0xc1, "
                                   "never used in msgpack))", "field": "batch"}
