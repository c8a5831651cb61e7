"""The shared wire/JSON value checks (`carbonlab.checks`): each refusal names its field and
no value makes one raise anything but the bound error."""

from __future__ import annotations

import pytest

from carbonlab.checks import CheckError, Checks

CHECKS = Checks()


@pytest.mark.parametrize("huge", [10**400, -(10**400), 10**4300], ids=["1e400", "-1e400", "1e4300"])
def test_as_float_refuses_an_integer_beyond_a_float_by_name(huge: int) -> None:
    """An outsider's find: `float(10**400)` raised OverflowError inside the check, a 500 for
    POST /v1/batches with readings[0].co2_pct = 10**400 (1e400 was already refused)."""
    with pytest.raises(CheckError) as info:
        CHECKS.as_float(huge, "batch.readings[0].co2_pct")
    assert (info.value.field, info.value.problem) == ("batch.readings[0].co2_pct", "must be a finite number")


@pytest.mark.parametrize(("value", "problem"), [
    (1e400, "must be a finite number"), (float("nan"), "must be a finite number"),
    (True, "expected a number, got bool"), ("1", "expected a number, got str"),
])
def test_as_float_refuses_what_is_not_a_finite_number(value: object, problem: str) -> None:
    with pytest.raises(CheckError) as info:
        CHECKS.as_float(value, "x")
    assert info.value.problem == problem


def test_as_float_takes_ints_and_floats() -> None:
    assert CHECKS.as_float(10**300, "x") == 1e300
    assert CHECKS.as_float(-2, "x") == -2.0
    assert isinstance(CHECKS.as_float(-2, "x"), float)


def test_out_of_range_integers_and_choices_are_named_without_echoing_them_whole() -> None:
    with pytest.raises(CheckError) as info:
        CHECKS.as_int(10**4300, "record.seq", hi=2**62)    # str() of 4,301 digits would raise
    assert info.value.field == "record.seq"
    assert info.value.problem == "an integer of 4301 digits is above the maximum 4611686018427387904"
    with pytest.raises(CheckError) as info:
        CHECKS.as_choice("x" * 200, "kind", ("a", "b"))
    assert len(info.value.problem) < 150
