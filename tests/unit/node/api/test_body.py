"""The JSON body's pure checks (api/body.py, api/errors.py, codec): right answers, and work that
grows linearly with the body however hostile it is (counted, never timed)."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

import pytest

from carbonlab.node.api.body import MAX_JSON_DEPTH, _pairs, first_repeated, nests_deeper, parse_json
from carbonlab.node.api.errors import MAX_FIELD_CHARS, MAX_MESSAGE_CHARS, ApiError
from carbonlab.node.codec import decode
from carbonlab.node.errors import SchemaError


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@pytest.mark.parametrize(("body", "deeper"), [
    (b"1", False),
    (b"[[[]]]", False),                          # depth 3 at limit 3
    (b"[[[[]]]]", True),
    (b'[{"a": [1]}, []]', False),
    (b'"[[[[[[["', False),                       # brackets in a string do not count
    (b'["\\"[[[[", 1]', False),                  # nor after an escaped quote
    (b'["\\\\", [[[1]]]]', True),                # an escaped backslash ends before the quote
    (b'["\\\\\\"[[[[["]', False),                # backslash, quote: still in the string
    (b"[" * 4, True),                            # never closed: the parser would recurse first
    (b"]]]][[[", False),                         # not JSON: the parser says so
    (b'"' + b'\\"' * 1000, False),               # the outside tester's unterminated string
])
def test_nesting_deeper_than_the_limit(body: bytes, deeper: bool) -> None:
    assert nests_deeper(body, 3) is deeper


def test_nesting_agrees_with_the_parsed_depth_on_random_json() -> None:
    rng = random.Random(7)
    texts = ["a", '"', "\\", "[", "]}", "\\\\", '\\"[', "{\\u005c"]

    def value(depth: int) -> Any:
        pick = rng.random()
        if depth == 0 or pick < 0.3:
            return rng.choice([*texts, 1, None, 2.5])
        if pick < 0.65:
            return [value(depth - 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(texts) + str(i): value(depth - 1) for i in range(rng.randint(0, 3))}

    for _ in range(3000):
        v = value(rng.randint(0, 7))
        body = json.dumps(v).encode()
        for limit in (0, 1, 2, 4):
            assert nests_deeper(body, limit) is (_depth(v) > limit), body


def _builtin_calls(fn: Any, *args: Any) -> int:
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "c_call"

    sys.setprofile(profile)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("unit", [b'\\"', b'"', b"[", b"[]", b'["a",', b"\\", b"[" * 33 + b"]" * 33])
def test_the_depth_check_makes_as_many_passes_whatever_the_size(unit: bytes) -> None:
    """D4: no Python-level loop over the bytes and no backtracking regex: the same few calls of
    bytes methods (each linear) for 1 KB and for 4 MB of the same hostile shape."""
    small = _builtin_calls(nests_deeper, unit * (1024 // len(unit)), MAX_JSON_DEPTH)
    large = _builtin_calls(nests_deeper, unit * (4 * 1024 * 1024 // len(unit)), MAX_JSON_DEPTH)
    assert small == large
    assert large <= 3 * MAX_JSON_DEPTH + 12      # replace, len, len per level


class _Key(str):
    """A key that counts how often it is compared for equality."""

    compared = 0
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        _Key.compared += 1
        return str.__eq__(self, other)


def test_a_key_given_twice_is_found_in_one_pass() -> None:
    """D5: the search compared each key with every key before it (quadratic: 4 s for 30,000)."""
    n = 3000
    pairs = [(_Key(f"k{i}"), i) for i in range(n)] + [(_Key("k1234"), 0)]
    _Key.compared = 0
    seen = [False]
    obj = _pairs(seen)(pairs)
    assert seen == [True]
    assert obj.key == "k1234"  # type: ignore[attr-defined]
    assert _Key.compared <= 2 * len(pairs)
    assert first_repeated(["a", "b", "a", "b"]) == "a"


def test_parse_json_names_what_is_wrong() -> None:
    with pytest.raises(ApiError, match=f"more than {MAX_JSON_DEPTH} levels"):
        parse_json(b"[" * 100_000 + b"]" * 100_000, "batch")
    with pytest.raises(ApiError, match="not valid JSON") as caught:
        parse_json(b'"' + b'\\"' * 20_000, "batch")
    assert caught.value.field == "body"
    with pytest.raises(ApiError, match="more than once") as caught:
        parse_json(b'{"a": {"b": 1, "b": 2}}', "batch")
    assert caught.value.field == "batch.a.b"
    assert parse_json(b'{"a": ["[\\"", {"b": null}]}', "batch") == {"a": ['["', {"b": None}]}
    with pytest.raises(ApiError) as caught:      # Python's "use sys.set_int_max_str_digits()" was echoed
        parse_json(b'{"chain_id": ' + b"9" * 5000 + b"}", "batch")
    assert str(caught.value) == ("body: not valid JSON (an integer of 5,000 digits: at most 4,300 digits "
                                 "are read)")


def test_an_api_error_cuts_what_it_echoes() -> None:
    """D14: every message and field is cut where the error is made."""
    error = ApiError(404, "meter: unknown meter " + repr("m" * 15_000), "x" * 5000)
    assert len(error.message) <= MAX_MESSAGE_CHARS + 30
    assert error.message.endswith("(15,023 characters)")
    assert error.field is not None
    assert len(error.field) <= MAX_FIELD_CHARS + 30
    assert ApiError(400, "short", "f").message == "short"


def test_msgpack_nested_too_deeply_says_so() -> None:
    """D15: msgpack's StackError has no text: the reason was empty."""
    with pytest.raises(SchemaError, match="nested too deeply"):
        decode(b"\x91" * 5000 + b"\xc0", "batch")
