"""The PNG plots are valid images of a plausible size."""

from __future__ import annotations

import struct

from carbonlab.apps.forecast import price
from carbonlab.apps.forecast.emissions import Forecast
from carbonlab.apps.planning.dispatch import DispatchProblem, solve_dispatch
from carbonlab.apps.planning.units import IntensityCurve, UnitLimits, UnitModel
from carbonlab.apps.plots import emissions_png, price_png, schedule_png


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decoded(data: bytes) -> tuple[int, ...]:
    import io

    import matplotlib.image

    return tuple(matplotlib.image.imread(io.BytesIO(data), format="png").shape)


def test_the_schedule_is_a_stacked_area_png() -> None:
    units = tuple(
        UnitModel(UnitLimits(f"U{i}", 100, 20, 100), IntensityCurve(1.0, 0.8 + i / 10, 0.0), 10.0 + i)
        for i in range(3)
    )
    demand = (120.0, 180.0, 250.0, 160.0)
    out = schedule_png(solve_dispatch(DispatchProblem(units, demand)), demand)
    assert png_size(out) == (1000, 500)
    assert decoded(out)[:2] == (500, 1000)
    assert 10_000 < len(out) < 500_000


def test_the_forecasts_are_pngs_with_their_band() -> None:
    fc = Forecast("u1", 86400 * 3, 3600, (5.0,) * 24, (4.0,) * 24, (6.0,) * 24, 0.9, "test")
    out = emissions_png([5.0] * 72, 0, fc)
    assert png_size(out) == (1000, 500)
    series = price.generate(1, days=60)
    out = price_png(series, price.forecast_price(series, weeks=2))
    assert png_size(out) == (1000, 500)
    assert 10_000 < len(out) < 500_000
