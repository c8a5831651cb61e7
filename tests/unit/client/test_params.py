"""A page's query parameters: read into its dataclass or refused naming the parameter."""

from __future__ import annotations

import pytest

from carbonlab.client import ParamError
from carbonlab.client.pages.emissions import EmissionsParams
from carbonlab.client.pages.explorer import ExplorerParams, ProofParams
from carbonlab.client.params import MAX_PARAM_CHARS, Scope, read_params


def test_defaults_and_values() -> None:
    assert read_params(EmissionsParams, []) == EmissionsParams()
    p = read_params(EmissionsParams, [("level", "plant"), ("company", "c-1"), ("since", "2026-01-01")])
    assert (p.level, p.company, p.since) == ("plant", "c-1", "2026-01-01")
    assert read_params(ExplorerParams, [("height", "12"), ("offset", "")]).height == 12
    assert read_params(ProofParams, [("meter", "m1"), ("seq", "0")]) == ProofParams("m1", 0)


@pytest.mark.parametrize(("cls", "items", "field"), [
    (EmissionsParams, [("level", "galaxy")], "level"),
    (EmissionsParams, [("level", "plant"), ("level", "unit")], "level"),
    (EmissionsParams, [("colour", "red")], "colour"),
    (EmissionsParams, [("company", "<script>")], "company"),
    (EmissionsParams, [("company", "x" * (MAX_PARAM_CHARS + 1))], "company"),
    (EmissionsParams, [("gwp", "AR1")], "gwp"),
    (Scope, [("level", "plant")], "level"),
    (ExplorerParams, [("height", "1.5")], "height"),
    (ExplorerParams, [("height", "0")], "height"),
    (ExplorerParams, [("height", "9" * 30)], "height"),
    (ExplorerParams, [("offset", "-1")], "offset"),
    (ProofParams, [("meter", "m1")], "seq"),
    (ProofParams, [("seq", "1")], "meter"),
])
def test_a_bad_parameter_is_named(cls: type, items: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(ParamError) as caught:
        read_params(cls, items)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_an_integer_is_read_up_to_its_declared_bound_and_refused_past_it() -> None:
    """An outsider's find: seq=2**62, the field's declared maximum, was refused as 'expected an
    integer' (the parser took at most 18 digits)."""
    assert read_params(ProofParams, [("meter", "a-u1-s1"), ("seq", str(2**62))]).seq == 2**62
    with pytest.raises(ParamError) as caught:
        read_params(ProofParams, [("meter", "a-u1-s1"), ("seq", str(2**62 + 1))])
    assert caught.value.field == "seq"
    assert caught.value.problem == f"must be an integer 0..{2**62}, got {2**62 + 1}"


@pytest.mark.parametrize("raw", ["4\x0b", " 4", "4 ", "+4", "4_0", "\u00b2", "\u2460",
                                 "\u0662\u0660\u0662\u0666", "\uff14", "4.0", "0x4", "9" * 150,
                                 "-" + "9" * 199])
def test_an_integer_parameter_is_ascii_digits_only(raw: str) -> None:
    """int() strips whitespace (a vertical tab too) and reads '٢٠٢٦' as 2026; isdigit() takes '²'."""
    from carbonlab.client.pages.allowances import AllowancesParams

    for cls, name in ((ProofParams, "seq"), (AllowancesParams, "year")):
        with pytest.raises(ParamError) as caught:
            read_params(cls, [("meter", "m1"), (name, raw)] if cls is ProofParams else [(name, raw)])
        assert caught.value.field == name
        assert len(str(caught.value)) < 200


def test_an_echoed_value_is_cut() -> None:
    from carbonlab.client.params import number

    with pytest.raises(ParamError) as caught:
        read_params(ProofParams, [("meter", "m1"), ("seq", "9" * 5000)], max_chars=10_000)
    assert caught.value.field == "seq"
    assert len(str(caught.value)) < 200
    with pytest.raises(ParamError) as caught:
        number("late_uploads", "x" * 5000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(("raw", "value"), [("12.5", 12.5), ("0", 0.0), ("-3", -3.0), (".5", 0.5),
                                            ("1e3", 1000.0)])
def test_a_float_parameter_is_an_ascii_decimal(raw: str, value: float) -> None:
    from carbonlab.client.params import number

    assert number("price_per_t", raw, float) == value


@pytest.mark.parametrize("raw", ["nan", "inf", "1e999", " 1", "1_0", "\u0661", "1,5", "0x1"])
def test_a_float_parameter_refuses_what_float_would_read(raw: str) -> None:
    from carbonlab.client.params import number

    with pytest.raises(ParamError) as caught:
        number("price_per_t", raw, float)
    assert caught.value.field == "price_per_t"
