"""The planning and forecast services (the client backend's entry): typed answers with PNG
bytes, and every bad request field named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from carbonlab.apps.errors import InfeasibleError, InputError
from carbonlab.apps.forecast import price
from carbonlab.apps.forecast import service as forecast
from carbonlab.apps.forecast.series import IntervalRecord
from carbonlab.apps.planning import service as planning

PNG = b"\x89PNG\r\n\x1a\n"

BODY: dict[str, Any] = {
    "units": [
        {"unit": "DIRTY", "capacity_mw": 100, "min_mw": 0, "ramp_mw_per_h": 100,
         "fuel_cost_per_mwh": 10, "curve": {"a": 0, "b": 1.0, "c": 0}},
        {"unit": "CLEAN", "capacity_mw": 100, "min_mw": 0, "ramp_mw_per_h": 100,
         "fuel_cost_per_mwh": 30, "curve": {"a": 0, "b": 0.4, "c": 0}},
    ],
    "demand_mw": [80, 80],
    "carbon_price": 0,
}


def test_a_dispatch_request_from_json_gives_the_merit_order_and_a_png() -> None:
    answer = planning.dispatch(planning.dispatch_request(BODY))
    assert answer.result.schedule_mw == ((80.0, 80.0), (0.0, 0.0))
    assert answer.result.cost == pytest.approx(1600.0)
    assert answer.png is not None
    assert answer.png.startswith(PNG)
    assert answer.fits == ()


def test_a_carbon_price_above_the_switch_moves_the_load_and_no_png_when_not_asked() -> None:
    # switching price (30 - 10) / (1.0 - 0.4) = 33.3 per t
    answer = planning.dispatch(planning.dispatch_request({**BODY, "carbon_price": 40, "png": False}))
    assert answer.result.schedule_mw == ((0.0, 0.0), (80.0, 80.0))
    assert answer.png is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"carbon_price": "60"}, "request.carbon_price"),
        ({"carbon_price": -1}, "request.carbon_price"),
        ({"cap_t": float("nan")}, "request.cap_t"),
        ({"segments": 0}, "request.segments"),
        ({"time_limit_s": 0}, "request.time_limit_s"),
        ({"png": "yes"}, "request.png"),
        ({"capp_t": 5}, "request.capp_t"),
        ({"demand_mw": []}, "request.demand_mw"),
        ({"demand_mw": [10, None]}, "request.demand_mw[1]"),
        ({"demand_mw": [10, 1e300]}, "request.demand_mw[1]"),
        ({"units": {}}, "request.units"),
    ],
)
def test_a_bad_dispatch_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        planning.dispatch_request({**BODY, **change})
    assert err.value.where == field


def test_a_bad_unit_field_and_a_missing_member_are_named() -> None:
    body = copy.deepcopy(BODY)
    body["units"][1]["min_mw"] = 500
    with pytest.raises(InputError, match=r"request.units\[1\] \(CLEAN\): min_mw"):
        planning.dispatch_request(body)
    with pytest.raises(InputError) as err:
        planning.dispatch_request({"units": BODY["units"]})
    assert err.value.where == "request.demand_mw"
    with pytest.raises(InputError) as err:
        planning.dispatch_request([BODY])
    assert err.value.where == "request"


def test_the_problems_own_checks_name_the_request_field() -> None:
    body = copy.deepcopy(BODY)
    body["units"][0]["initial_mw"] = 500
    with pytest.raises(InputError) as err:
        planning.dispatch_request(body)
    assert err.value.where == "request.units (DIRTY): initial_mw"
    with pytest.raises(InputError) as err:
        planning.dispatch_request({**BODY, "units": [BODY["units"][0]] * 2})
    assert err.value.where == "request.units"


def test_an_infeasible_request_names_its_constraint() -> None:
    with pytest.raises(InfeasibleError) as err:
        planning.dispatch(planning.dispatch_request({**BODY, "demand_mw": [80, 250]}))
    assert err.value.constraint == "demand"


def test_a_price_request_gives_a_forecast_to_the_deadline_with_a_png() -> None:
    series = price.generate(3, days=60)
    answer = forecast.price(series, forecast.price_request({"deadline": "2024-04-05"}))
    assert answer.forecast.dates[-1].isoformat() == "2024-04-05"
    assert all(lo <= m <= hi for lo, m, hi in zip(answer.forecast.lo, answer.forecast.median,
                                                  answer.forecast.hi, strict=True))
    assert answer.png is not None
    assert answer.png.startswith(PNG)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weeks": 0}, "request.weeks"),
        ({"weeks": 2.5}, "request.weeks"),
        ({"deadline": "31/12/2026"}, "request.deadline"),
        ({"deadline": 20261231}, "request.deadline"),
        ({"week": 2}, "request.week"),
    ],
)
def test_a_bad_price_field_is_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        forecast.price_request(body)
    assert err.value.where == field


def _records(days: int) -> list[IntervalRecord]:
    start = 1_767_225_600 - days * 86400    # days before 2026-01-01T00:00Z
    return [IntervalRecord(start + 3600 * h, "C1", "P1", "U1", 1000.0 + 200.0 * ((h % 24) >= 8))
            for h in range(24 * days)]


def test_an_emissions_request_forecasts_and_gives_the_year_end_position() -> None:
    request = forecast.emissions_request({"name": "U1", "horizon_h": 48, "allowance_t": 0, "price": 10,
                                          "paths": 50})
    answer = forecast.emissions(_records(20), request)
    assert len(answer.forecast.mean) == 48
    assert answer.year_end is not None
    # the series ends at the year's end: the total is what was committed, all of it short
    assert answer.year_end.expected_t == pytest.approx(answer.year_end.to_date_t)
    assert answer.year_end.shortfall_probability == 1.0
    assert answer.png is not None
    assert answer.png.startswith(PNG)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "request.name"),
        ({"name": "U1", "level": "stack"}, "request.level"),
        ({"name": "U1", "horizon_h": 10**6}, "request.horizon_h"),
        ({"name": "U1", "allowance_t": "lots"}, "request.allowance_t"),
        ({"name": "U1", "paths": 0}, "request.paths"),
        ({"name": "U1", "seed": -1}, "request.seed"),
    ],
)
def test_a_bad_emissions_field_is_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        forecast.emissions_request(body)
    assert err.value.where == field


def test_an_unknown_name_is_named() -> None:
    with pytest.raises(InputError, match="no records for unit 'U9'"):
        forecast.emissions(_records(3), forecast.emissions_request({"name": "U9"}))
