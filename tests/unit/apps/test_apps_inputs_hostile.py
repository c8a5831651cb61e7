"""Planning and forecasts against an outside tester's hostile inputs: CSV files with a byte order
mark or an extra field, readings of 1e308 kg, a price of 1e-300, a price of 1e308 for the year-end
cost, a HiGHS time limit too short to find anything, and a price forecast whose drift compounded."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from carbonlab.apps.csvfile import MAX_LINE_CHARS, rows
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.price import PriceSeries, business_days, forecast_price, log_arima
from carbonlab.cli import main

from .test_forecast_hostile import START
from .test_plan_hostile import UNITS, _files


def test_a_byte_order_mark_is_read_by_every_csv_reader(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfdate,price\n2024-01-02,80\n")
    assert rows(path, ("date", "price")) == [{"date": "2024-01-02", "price": "80"}]


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("hour,demand_mw\n0,500,7\n", "line 2", "3 field(s), but the header has 2 (hour,demand_mw)"),
    ("hour,demand_mw\n0,500\n1\n", "line 3", "1 field(s), but the header has 2"),
    ("hour,demand_mw\n" + "0" * (MAX_LINE_CHARS + 5) + "\n", "line 2", "longer than 65,536 characters"),
])
def test_a_row_that_does_not_fit_the_header_is_refused_by_line(text: str, where: str, problem: str,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "demand.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        rows(path, ("demand_mw",))
    assert info.value.where == f"{path} {where}"
    assert problem in info.value.problem


def test_a_csv_that_never_ends_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="line 1: longer than"):
        rows(Path("/dev/zero"), ("demand_mw",))


def _prices(path: Path, bom: bool = False) -> Path:
    text = "date,price,currency\n" + "".join(f"{d},{80 + i % 7},CNY\n"
                                              for i, d in enumerate(business_days(date(2024, 1, 2), 60)))
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_forecast_reads_csv_files_with_a_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "price", "--csv", str(_prices(tmp_path / "p.csv", bom=True))]) == 0
    records = tmp_path / "r.csv"
    records.write_bytes(b"\xef\xbb\xbftime,company,plant,unit,co2_kg\n" + "".join(
        f"{START + 3600 * h},c,p,u,{1000 + 300 * math.sin(h / 24 * 2 * math.pi)}\n"
        for h in range(24 * 10)).encode())
    assert main(["forecast", "emissions", "--records", str(records), "--horizon-h", "2"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("kg", ["1e308", "1e15"])
def test_an_absurd_reading_is_refused_by_line(kg: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"time,company,plant,unit,co2_kg\n{START},c,p,u,5\n{START + 3600},c,p,u,{kg}\n")
    assert main(["forecast", "emissions", "--records", str(path), "--level", "unit", "--horizon-h", "1"]) == 2
    assert f"{path} line 3: co2_kg: must be a finite number in [0, 1e+12] kg, got '{kg}'" \
        in capsys.readouterr().err


def test_a_price_of_1e308_for_the_year_end_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.csv"
    path.write_text("time,company,plant,unit,co2_kg\n" + "".join(f"{START + 3600 * h},c,p,u,{900 + h % 5}\n"
                                                               for h in range(24 * 10)))
    argv = ["forecast", "emissions", "--records", str(path), "--horizon-h", "1", "--allowance-t", "2000000",
            "--price", "1e308"]
    assert main(argv) == 2                         # "expected cost inf", JSON Infinity before
    assert "--price: must be a finite number in [0, 1e+06], got 1e+308" in capsys.readouterr().err


def test_one_tiny_price_anywhere_is_refused_before_the_model() -> None:
    """From the chain or a service (not a CSV): a price of 1e-300 made a band of 0.00..4e27."""
    days = business_days(date(2024, 1, 2), 60)
    prices = [80.0] * 60
    prices[40] = 1e-300
    with pytest.raises(InputError) as info:
        forecast_price(PriceSeries(tuple(days), tuple(prices), "CNY"))
    assert info.value.where == f"price on {days[40]}"


def test_the_price_forecasts_median_drifts_linearly_in_the_log() -> None:
    """ARIMA(1,1,0) with drift: the median's log grows by the same amount every step. With
    SARIMAX's trend="t" (a trend in the differences) the growth per step climbed with the horizon
    (0.0011 at step 100, 0.0039 at 1,300) and a steadily growing series reached 152 million."""
    history = [80.0 * math.exp(0.001 * t + 0.01 * math.sin(t)) for t in range(400)]
    median, lo, hi = log_arima(history, 1300)
    growth = [math.log(median[k]) - math.log(median[k - 1]) for k in range(1, len(median))]
    assert growth[-1] == pytest.approx(growth[99], abs=1e-6)
    assert growth[-1] == pytest.approx(0.001, rel=0.2)
    assert median[-1] < history[-1] * math.exp(0.0015 * 1300)      # no compounding drift
    assert lo[-1] < median[-1] < hi[-1]


def test_a_time_limit_that_finds_nothing_names_the_time_limit(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    units = {"units": [UNITS["units"][0], {**UNITS["units"][0], "unit": "U2", "fuel_cost_per_mwh": 50}]}
    demand = "hour,demand_mw\n" + "".join(f"{h},{500 + 300 * math.sin(h / 24 * 6.28)}\n" for h in range(168))
    u, d = _files(tmp_path, units, demand)
    assert main(["plan", "dispatch", "--units", u, "--demand", d, "--carbon-price", "60",
                 "--time-limit-s", "0.000001"]) == 2
    err = capsys.readouterr().err
    assert "time_limit_s: HiGHS reached its time limit of 1e-06 s before it found any schedule" in err
    assert "--time-limit-s" in err
    assert "ramp" not in err
