"""The application pages' forms: bodies parsed with the standard library, every bad field named."""

from __future__ import annotations

import pytest

from carbonlab.apps.report.model import Template
from carbonlab.client import appforms
from carbonlab.client.appforms import DispatchForm, FormError, ReportForm


def test_a_dispatch_form_is_read_into_typed_values() -> None:
    form = appforms.read(DispatchForm, {"company": "c1", "demand_mw": "100, 120;130", "carbon_price": "55.5",
                                        "cap_t": ""})
    assert form.carbon_price == 55.5
    assert form.cap_t is None
    assert form.time_limit_s == 30.0
    assert appforms.numbers(form.demand_mw) == (100.0, 120.0, 130.0)


@pytest.mark.parametrize(("raw", "field", "words"), [
    ({"company": "c1", "demand_mw": "100", "carbon_price": "abc"}, "carbon_price",
     "a finite number (ASCII digits)"),
    ({"company": "c1", "demand_mw": "100", "carbon_price": "-1"}, "carbon_price", "0..1000000"),
    ({"company": "c1", "demand_mw": "100", "carbon_price": "nan"}, "carbon_price", "finite"),
    ({"company": "c1", "demand_mw": "100", "carbon_price": "4\x0b"}, "carbon_price", "ASCII digits"),
    ({"company": "c1", "demand_mw": "100", "carbon_price": "\u0664"}, "carbon_price", "ASCII digits"),
    ({"company": "c1", "demand_mw": "100", "carbon_price": "9" * 5000}, "carbon_price", "(5000 characters)"),
    ({"company": "c1", "demand_mw": "100", "cap_t": "1e400"}, "cap_t", "finite"),
    ({"company": "c1", "demand_mw": "100, x"}, "demand_mw", "value 2"),
    ({"company": "c1", "demand_mw": ""}, "demand_mw", "non-empty"),
    ({"company": "c1", "demand_mw": ",".join(["1"] * 745)}, "demand_mw", "1 to 744"),
    ({"demand_mw": "100"}, "company", "required"),
    ({"company": "c1", "demand_mw": "100", "sneaky": "1"}, "sneaky", "unknown field"),
])
def test_a_bad_dispatch_field_is_named(raw: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(FormError) as info:
        appforms.read(DispatchForm, raw)
    assert info.value.field == field
    assert words in info.value.problem
    assert info.value.status == 400


def test_report_form_choices_come_from_the_template_enum() -> None:
    assert appforms.read(ReportForm, {"company": "c", "year": "2026", "template": "eu-mrr"}).template \
        is Template.EU_MRR
    with pytest.raises(FormError, match="template"):
        appforms.read(ReportForm, {"company": "c", "year": "2026", "template": "../etc"})
    with pytest.raises(FormError, match="year"):
        appforms.read(ReportForm, {"company": "c", "year": "1.5"})


def test_urlencoded_and_multipart_bodies() -> None:
    text, files = appforms.parse("application/x-www-form-urlencoded", b"a=1&b=x+y")
    assert text == {"a": "1", "b": "x y"}
    assert files == {}
    with pytest.raises(FormError, match="given twice"):
        appforms.parse("application/x-www-form-urlencoded", b"a=1&a=2")
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"weeks\"\r\n\r\n4\r\n"
            b"--XX\r\nContent-Disposition: form-data; name=\"csv\"; filename=\"p.csv\"\r\n"
            b"Content-Type: text/csv\r\n\r\ndate,price\r\n1,2\r\n--XX--\r\n")
    text, files = appforms.parse("multipart/form-data; boundary=XX", body)
    assert text == {"weeks": "4"}
    assert files["csv"].filename == "p.csv"
    assert files["csv"].data == b"date,price\r\n1,2"
    with pytest.raises(FormError) as info:
        appforms.parse("multipart/form-data", b"garbage")
    assert info.value.field == "body"
    with pytest.raises(FormError) as info:
        appforms.parse("application/json", b"{}")
    assert info.value.status == 415


async def _chunks(*parts: bytes):  # type: ignore[no-untyped-def]
    for p in parts:
        yield p


@pytest.mark.parametrize("cap", [5, 6])
def test_a_body_over_its_cap_is_refused_with_413(cap: int) -> None:
    import anyio

    async def run() -> bytes:
        return await appforms.read_body(_chunks(b"abc", b"def"), cap)

    if cap < 6:
        with pytest.raises(FormError) as info:
            anyio.run(run)
        assert info.value.status == 413
    else:
        assert anyio.run(run) == b"abcdef"


@pytest.mark.parametrize("text", ["1_000", "\uff11\uff12", "\u0661\u0662", "1_0.5", "1e1_0"])
def test_a_number_is_ascii_digits_only(text: str) -> None:
    """Found by the outsider probe: an allocation of `1_000` or of full-width twelve
    (U+FF11 U+FF12) tonnes was signed and committed (Python's int() and float() read them)."""
    with pytest.raises(FormError) as got:
        appforms.read(ReportForm, {"company": "c1", "year": text})
    assert got.value.field == "year"
    with pytest.raises(FormError) as got:
        appforms.read(DispatchForm, {"company": "c1", "demand_mw": "100", "carbon_price": text})
    assert got.value.field == "carbon_price"
