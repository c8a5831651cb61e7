"""The shared validation layer: types from annotations, rules and defaults declared once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pytest

from carbonlab.fields import FieldError, build, like, spec, values


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Example:
    name: str
    colour: Colour = spec(Colour.RED)
    count: int = spec(3, lo=1, hi=9)
    ratio: float = spec(0.5, lo=0.0, hi=1.0)
    flag: bool = spec(False)
    span: tuple[float, float] = spec((1.0, 2.0), lo=0.0)
    maybe: float | None = spec(None, lo=0.0)


@dataclass(frozen=True)
class Copy:
    count: int = like(Example, "count")


def test_reads_typed_values_and_fills_defaults() -> None:
    got = build(Example, {"name": "x", "colour": "blue", "ratio": 1, "span": [0, 5]}, file="f.toml")
    assert got == Example("x", Colour.BLUE, 3, 1.0, False, (0.0, 5.0), None)
    assert isinstance(got.ratio, float)
    assert got.colour is Colour.BLUE


@pytest.mark.parametrize(("raw", "field", "problem"), [
    ({}, "name", "is required"),
    ({"name": ""}, "name", "must be a non-empty string"),
    ({"name": "x", "count": True}, "count", "must be an integer 1..9, got True"),
    ({"name": "x", "count": 10}, "count", "must be an integer 1..9, got 10"),
    ({"name": "x", "ratio": float("nan")}, "ratio", "must be a number 0..1"),
    ({"name": "x", "flag": 1}, "flag", "must be true or false"),
    ({"name": "x", "colour": "green"}, "colour", "must be one of red, blue"),
    ({"name": "x", "span": [3, 2]}, "span", "must be [min, max]"),
    ({"name": "x", "maybe": -1}, "maybe", "must be a number >= 0"),
    ({"name": "x", "size": 1}, "size", "unknown field; allowed: colour, count"),
])
def test_every_error_names_file_and_field(raw: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(FieldError) as info:
        values(Example, raw, file="f.toml", prefix="t.")
    assert (info.value.file, info.value.field) == ("f.toml", f"t.{field}")
    assert problem in info.value.problem
    assert str(info.value).startswith(f"f.toml: field 't.{field}': ")
    assert isinstance(info.value, ValueError)


def test_like_reuses_default_and_rule() -> None:
    assert build(Copy, {}, file="f") == Copy(3)
    with pytest.raises(FieldError, match=r"1\.\.9"):
        build(Copy, {"count": 0}, file="f")
