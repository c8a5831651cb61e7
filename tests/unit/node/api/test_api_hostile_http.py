"""Hostile raw HTTP to the node's real API server (hypercorn's trio worker, `serve_api`), found by
an outside tester: bodies that cost the event loop quadratic time, a request pipelined behind an
early refusal, a stalled or abandoned body, unknown routes, over-long echoes, deep msgpack.

None of these requests reaches the node's work, so the server runs in front of a node without a
ledger (apiserver.py). No test measures time: each asserts what is answered, and a server that
blocks its loop or keeps a connection fails by the sockets' generous timeouts.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading

import httpx
import pytest

from carbonlab.node.api.body import MAX_BODY_BYTES
from carbonlab.node.model import BATCH_MEDIA_TYPE
from tests.unit.node.api.apiserver import answers, exchange, logged, request, running_api

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def port() -> object:
    with running_api() as port:
        yield port


def _healthz_while(port: int, raw: bytes) -> tuple[int, dict[str, object]]:
    """Send `raw` on one connection and, while the server handles it, ask /healthz on another:
    a loop blocked by the first fails the second by its timeout."""
    got: list[bytes] = []
    sender = threading.Thread(target=lambda: got.append(exchange(port, raw, timeout_s=120)))
    sender.start()
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
    assert health.status_code == 200
    assert health.json() == {"ok": True}
    sender.join(150)
    assert got, "no answer to the hostile body"
    (status, _, body), = answers(got[0])
    return status, json.loads(body)


@pytest.mark.parametrize("path", ["/v1/batches", "/v1/records"])
def test_an_unterminated_string_of_escaped_quotes_is_a_quick_400(port: int, path: str) -> None:
    """D4: `"\\"\\"\\"...` (the old string regex was re-scanned from every quote: 5 s for 40 KB,
    about 9 minutes for these 400 KB, with /healthz and consensus waiting)."""
    body = b'"' + b'\\"' * 200_000
    status, answer = _healthz_while(port, request("POST", path, body, extra=b"Connection: close\r\n"))
    assert status == 400
    assert answer["field"] == "body"
    assert "not valid JSON" in str(answer["error"])


def test_many_keys_with_one_given_twice_are_a_quick_400_naming_it(port: int) -> None:
    """D5: the duplicate-key search was quadratic (4 s for 30,000 keys; these 200,000 took about
    3 minutes with /healthz waiting)."""
    keys = b",".join(b'"k%d": 1' % i for i in range(200_000))
    body = b'{"chain_id": 1, ' + keys + b', "k199999": 2}'
    assert len(body) < MAX_BODY_BYTES
    raw = request("POST", "/v1/batches", body, extra=b"Connection: close\r\n")
    status, answer = _healthz_while(port, raw)
    assert status == 400
    assert answer["field"] == "batch.k199999"
    assert "more than once" in str(answer["error"])


@pytest.mark.parametrize(("path", "content_type"), [("/v1/batches", None), ("/v1/records", "text/plain")])
def test_a_request_pipelined_behind_an_early_refusal_is_answered(port: int, path: str,
                                                                  content_type: str | None) -> None:
    """D6: the refusal (415, from the head alone) said `Connection: close` though its 2-byte body
    had arrived; hypercorn's trio worker then tore the connection down while sending it
    (BusyResourceError): no answer or a cut one, and the pipelined request never answered."""
    pipelined = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with logged() as log:
        for _ in range(10):
            got = answers(exchange(port, request("POST", path, b"{}", content_type) + pipelined))
            assert [status for status, _, _ in got] == [415, 200]
            assert json.loads(got[0][2])["field"] == "content-type"
            assert json.loads(got[1][2]) == {"ok": True}
    assert log.errors() == []


def test_a_stalled_body_is_answered_408_and_the_connection_closed() -> None:
    """D7: Content-Length 100, 5 bytes, then nothing: the connection was held for ever."""
    with running_api(body_timeout_s=1.0) as port, logged() as log:
        for path in ("/v1/batches", "/v1/records"):
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
                   "Content-Length: 100\r\n\r\n"
            (status, headers, body), = answers(exchange(port, head.encode() + b'{"a":'))
            assert status == 408
            assert headers[b"connection"] == b"close"
            assert json.loads(body)["field"] == "body"
        assert log.errors() == []


def test_a_client_leaving_mid_body_is_no_error_in_the_log(port: int) -> None:
    """D8: every abandoned body was an ERROR with a ClientDisconnect traceback."""
    head = (b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")
    with logged() as log:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head + b'{"chain_id": ')
        assert log.seen.wait(60), "the guard never saw the client leave"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    assert log.errors() == []
    assert any("left before its body" in r.getMessage() for r in log.records)


def test_unknown_routes_and_methods_answer_in_the_api_json_shape(port: int) -> None:
    """D13: 404 and 405 were text/plain."""
    got = httpx.get(f"http://127.0.0.1:{port}/v1/nothing", timeout=30)
    assert got.status_code == 404
    assert got.json()["field"] == "path"
    assert "/v1/nothing" in got.json()["error"]
    got = httpx.delete(f"http://127.0.0.1:{port}/v1/batches", timeout=30)
    assert got.status_code == 405
    assert got.json()["field"] == "method"
    assert got.headers["allow"] == "POST"


def test_an_echoed_value_is_cut(port: int) -> None:
    """D14: a 15,000-character meter was echoed whole (a 15,051-byte 404)."""
    got = httpx.get(f"http://127.0.0.1:{port}/v1/readings", params={"meter": "m" * 15_000}, timeout=30)
    assert got.status_code == 404
    assert got.json()["field"] == "meter"
    assert len(got.content) < 600
    assert "(15000 characters)" in got.json()["error"]   # how long the value (not the message) was


def test_msgpack_nested_beyond_the_unpacker_stack_says_so(port: int) -> None:
    """D15: the reason was empty ("not valid msgpack ()")."""
    got = httpx.post(f"http://127.0.0.1:{port}/v1/batches", content=b"\x91" * 5000 + b"\xc0",
                     headers={"content-type": BATCH_MEDIA_TYPE}, timeout=30)
    assert got.status_code == 400
    assert "nested too deeply" in got.json()["error"]


def _chunked(body: bytes, size: int) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


_HEAD = b"POST /v1/batches HTTP/1.1\r\nHost: x\r\n"
_PIPELINED = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("raw", [
    _HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(b"{}", 2),
    _HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(b"x" * 100_000, 1000),
    _HEAD + b"Content-Length: 100000\r\n\r\n" + b"x" * 100_000,
    _HEAD + b"Content-Length: %d\r\n\r\n" % MAX_BODY_BYTES + b"x" * MAX_BODY_BYTES,
], ids=["chunked-2", "chunked-100000", "length-100000", "length-at-the-cap"])
def test_a_request_pipelined_behind_an_early_answer_to_any_body_is_answered(port: int, raw: bytes) -> None:
    """An outsider's re-test: a chunked body, or one over 64 KiB, answered 415 from the head made
    the answer say `Connection: close`; hypercorn's trio worker then closed the socket while the
    415 was sent (BusyResourceError, "Error in ASGI Framework"): its head and no body, 4 of 4 times
    for the chunked 2 bytes. Now the rest of the body up to the node's cap is read and dropped."""
    with logged() as log:
        for _ in range(4):
            got = answers(exchange(port, raw + _PIPELINED))
            assert [status for status, _, _ in got] == [415, 200]
            assert b"connection" not in got[0][1]
            assert json.loads(got[0][2])["field"] == "content-type"
            assert json.loads(got[1][2]) == {"ok": True}
    assert log.errors() == []


def test_a_declared_body_over_the_cap_is_answered_whole_and_the_connection_closed(port: int) -> None:
    """A body declared over the cap is not read: the 413 says `Connection: close` and comes
    whole while the client is still sending, the connection is then closed, nothing is logged
    as an error (the pipelined request is not answered: the client was told)."""
    size = MAX_BODY_BYTES + 1
    raw = request("POST", "/v1/batches", b"x" * size) + _PIPELINED
    with logged() as log, socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        def push() -> None:
            with contextlib.suppress(OSError):          # the server closes before it is all sent
                sock.sendall(raw)
        sender = threading.Thread(target=push)
        sender.start()
        got = b""
        with contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):             # the socket's timeout fails a kept connection
                got += data
        sender.join(60)
    (status, headers, body), = answers(got)
    assert status == 413
    assert headers[b"connection"] == b"close"
    assert json.loads(body) == {"error": f"body: Content-Length {size} bytes exceeds {MAX_BODY_BYTES}",
                                "field": "body"}
    assert log.errors() == []


def test_a_chunked_body_over_the_cap_is_answered_whole_and_never_cut(port: int) -> None:
    """A chunked body over the cap, its end and a pipelined request right behind: the rest is not
    read, and the 413 does not say `Connection: close` (the few bytes left would let h11 fail and
    hypercorn cut the answer, as for the outsider's 415): the answer is whole, then the connection
    is closed, or (the reader having seen the end first) the pipelined request answered too."""
    body = b" " * (MAX_BODY_BYTES + 1024)
    raw = (_HEAD + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           + _chunked(body, 64 * 1024) + _PIPELINED)
    with logged() as log:
        for _ in range(3):
            got = answers(exchange(port, raw))
            assert [status for status, _, _ in got] in ([413], [413, 200])
            assert b"connection" not in got[0][1]
            assert json.loads(got[0][2]) == {"error": f"body: more than {MAX_BODY_BYTES} bytes",
                                             "field": "body"}
    assert log.errors() == []
