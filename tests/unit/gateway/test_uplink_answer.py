"""The uplink reads a node's JSON answer once, into a typed `NodeAnswer`, and decides from it."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from carbonlab.gateway.uplink import CONFLICT, Decision, NodeAnswer, Uplink
from carbonlab.node.crypto import Signer
from carbonlab.node.model import Basis, Batch, DataFlag, Reading

SIGNER = Signer.from_seed(bytes(32))
READING = Reading("m1", 1, 1_700_000_040, 60, 10.0, Basis.WET, 6.0, 8.0, 300.0, 120.0, 100.0, 60,
                  DataFlag.NORMAL, 1.0)
BATCH = Batch("chain", "gw1", 1, (READING,)).signed(SIGNER)
DIGEST = hashlib.sha256(BATCH.encode()).hexdigest()


def answer(status: int, body: object = None, *, content: bytes | None = None) -> NodeAnswer:
    if content is not None:
        return NodeAnswer.of(httpx.Response(status, content=content))
    return NodeAnswer.of(httpx.Response(status, json=body))


def test_a_rejection_is_read_with_its_field() -> None:
    field, detail = "batch.readings[0].co2_kg", "batch.readings[0].co2_kg: 1.0 ..."
    read = answer(422, {"status": "rejected", "reason": "co2_mismatch", "field": field,
                        "error": detail, "detail": detail, "height": 7})
    assert read == NodeAnswer(422, "rejected", 7, None, "co2_mismatch", field, detail, detail)
    assert Uplink._final("n1", read, BATCH) == Decision(False, reason="co2_mismatch", detail=detail,
                                                        node="n1", field=field)


@pytest.mark.parametrize(("status", "body", "content"), [
    (502, None, b"<html>bad gateway</html>"),                  # not JSON
    (200, ["committed"], None),                                 # JSON, not an object
    (200, {"status": 1, "height": "7", "digest": 5}, None),    # every field of the wrong type
    (200, {"status": "committed", "height": True}, None),      # a bool is not a height
])
def test_an_unreadable_answer_reads_as_absent_fields(status: int, body: object,
                                                     content: bytes | None) -> None:
    read = answer(status, body, content=content)
    assert read.status in ("", "committed")
    assert (read.height, read.digest, read.reason, read.field, read.detail) == (None, None, "", "", "")


def test_committed_with_another_digest_is_a_conflict_naming_the_batch() -> None:
    mine = answer(200, {"status": "committed", "height": 3, "digest": DIGEST})
    assert Uplink._final("n1", mine, BATCH) == Decision(True, 3, node="n1")
    other = Uplink._final("n1", answer(200, {"status": "committed", "height": 3, "digest": "ab" * 32}),
                          BATCH)
    assert other is not None
    assert (other.committed, other.reason, other.field) == (False, CONFLICT, "batch")


def test_a_400_is_final_as_malformed_with_the_field() -> None:
    read = answer(400, {"error": "batch.readings[0].co2_pct: expected a number", "field":
                        "batch.readings[0].co2_pct"})
    final = Uplink._final("n1", read, BATCH)
    assert final is not None
    assert (final.committed, final.reason, final.field) == (False, "malformed", "batch.readings[0].co2_pct")
    assert Uplink._final("n1", answer(202, {"status": "accepted"}), BATCH) is None
