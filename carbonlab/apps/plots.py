"""PNG plots a person would rather look at: a schedule as a stacked area, a forecast with its band.

matplotlib with the Agg backend (no display needed); each function returns one PNG's bytes
(the commands write them through `outfile.write`, the services hand them to their caller).
Imported only by the code that draws.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from carbonlab.apps.forecast.emissions import Forecast
from carbonlab.apps.forecast.price import PriceForecast, PriceSeries
from carbonlab.apps.planning.dispatch import DispatchResult


def _figure(title: str):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return plt, fig, ax


def schedule_png(result: DispatchResult, demand_mw: Sequence[float]) -> bytes:
    plt, fig, ax = _figure(f"Dispatch: cost {result.cost:,.0f}, CO2 {result.emissions_t:,.1f} t")
    hours = list(range(len(demand_mw)))
    ax.stackplot(hours, *result.schedule_mw, labels=result.units)
    ax.plot(hours, list(demand_mw), color="black", linewidth=1.5, label="demand")
    ax.set_xlabel("hour")
    ax.set_ylabel("MW")
    ax.legend(loc="upper left", fontsize="small", ncol=2)
    fig.tight_layout()
    return _bytes(plt, fig)


def emissions_png(history_kg: Sequence[float], history_first_s: int, forecast: Forecast) -> bytes:
    plt, fig, ax = _figure(f"CO2 forecast for {forecast.name} ({int(forecast.level * 100)} % interval)")
    keep = min(len(history_kg), 24 * 14)
    h0 = history_first_s + 3600 * (len(history_kg) - keep)
    past = [datetime.fromtimestamp(h0 + 3600 * i, UTC) for i in range(keep)]
    future = [
        datetime.fromtimestamp(forecast.first_s + forecast.step_s * i, UTC) for i in range(len(forecast.mean))
    ]
    ax.plot(past, [v / 1000 for v in history_kg[-keep:]], color="black", linewidth=0.8, label="history")
    ax.fill_between(
        future, [v / 1000 for v in forecast.lo], [v / 1000 for v in forecast.hi], alpha=0.3, label="interval"
    )
    ax.plot(future, [v / 1000 for v in forecast.mean], label="forecast")
    ax.set_ylabel("t CO2 per hour")
    return _save(plt, fig, ax)


def price_png(series: PriceSeries, forecast: PriceForecast) -> bytes:
    plt, fig, ax = _figure(f"Carbon price forecast ({int(forecast.level * 100)} % interval)")
    keep = min(len(series.prices), 250)
    past: list[date] = list(series.dates[-keep:])
    ax.plot(past, series.prices[-keep:], color="black", linewidth=0.8, label="history")
    ax.fill_between(forecast.dates, forecast.lo, forecast.hi, alpha=0.3, label="interval")
    ax.plot(forecast.dates, forecast.median, label="forecast (median)")
    ax.set_ylabel(f"price ({series.currency} per t)")
    return _save(plt, fig, ax)


def _save(plt: Any, fig: Any, ax: Any) -> bytes:
    """The legend, dates and layout every time-axis plot shares; the PNG's bytes."""
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return _bytes(plt, fig)


def _bytes(plt: Any, fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
