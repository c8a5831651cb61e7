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
