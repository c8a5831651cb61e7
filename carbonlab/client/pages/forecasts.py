"""The forecasts page: a company's emissions to the year end against its position, the carbon price.

Data: the company's hourly CO2 from the chain (`/v1/emissions/query?period=hour&level=unit`,
read as the forecasts' records by `apps.ledger.records_from`); its allowance position is
the chain's balance (`/v1/allowances/balance`: held = allocated + bought - sold - surrendered)
unless the form gives one. The forecast, its year-end distribution and a rolling-origin
backtest against seasonal-naive on the same history are `apps.forecast`'s, run off the event
loop and kept a while (`appviews.Results`). The carbon price is forecast from the trading
centre's transfers on the chain (daily mean prices, `/v1/allowances/records?kind=transfer`), or
from a CSV uploaded to `POST /forecasts/price` (`date,price,currency`, read by the forecast
module's own reader; each bad line named).

Test ids: `forecast-emissions-form` (inputs `forecast-<field>`), `forecast-result`
(`forecast-total`, `forecast-band`, `forecast-chart`), `forecast-year-end` (`year-end-expected`,
`year-end-allowance`, `year-end-shortfall-probability`, `year-end-cost`), `forecast-backtest`
(a row `backtest-<forecaster>` with `data-beats`), `price-form`, `price-upload-form`,
`price-result` (`price-last`, `price-table`, `price-chart`, `price-source`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carbonlab.client import appdata, chainrecords
from carbonlab.client.appdata import offload
from carbonlab.client.appforms import EmissionsForecastForm, PriceForecastForm
from carbonlab.client.appviews import data_uri, mapped, query_form, run_context, state, this_year
from carbonlab.node.allowances.records import Transfer

if TYPE_CHECKING:
    from starlette.requests import Request

    from carbonlab.client.context import Console


MAX_PRICE_BLOCKS = 2000     # distinct blocks whose time a price series reads


def chain_prices(reader: appdata.NodeReader) -> Any:
    """Daily prices of the chain's transfers, each dated by its block's certified timestamp."""
    entries = chainrecords.transfers(reader)
    heights = sorted({e.height for e in entries})[-MAX_PRICE_BLOCKS:]
    when: dict[int, int] = {}
    for h in heights:
        header = reader.get(f"/v1/blocks/{h}").get("header", {})
        stamp = header.get("timestamp_ms") if isinstance(header, dict) else None
        if not isinstance(stamp, int):
            raise appdata.NodeUnavailable(f"{reader.url}/v1/blocks/{h}", "no header.timestamp_ms")
        when[h] = stamp // 1000
    trades = [(when[e.height], e.record.body.price_per_t, e.record.body.currency)
              for e in entries if e.height in when and isinstance(e.record.body, Transfer)]
    return appdata.daily_prices(trades)


async def view(console: Console, request: Request) -> dict[str, Any]:
    params, run, out = run_context(console, request, {"emissions": EmissionsForecastForm,
                                                              "price": PriceForecastForm})
    out.update(emissions=None, price=None, allowance_source=None)
    app = state(console)
    with mapped(out):
        if run == "emissions":
            form = query_form(EmissionsForecastForm, params, ignore=("run",))
            appdata.check_company(console.genesis, form.company)
            def fetch() -> tuple[float, str, list[Any]]:
                if form.allowance_t is not None:
                    given = (form.allowance_t, "the form")
                else:
                    held = chainrecords.balance(app.reader, form.company, this_year())
                    given = (float(held.held_t), f"the chain's balance for {this_year()}")
                return (*given, appdata.hourly_records(app.reader, form.company))

            allowance_t, source, records = await offload("reading the chain", fetch)
            last = max(r.start_s for r in records)
            key = ("emissions", form, allowance_t, last)    # a new hour on the chain: a new forecast
            result = await app.results.get(key, "the emissions forecast", lambda: appdata.emissions_forecast(
                records, form.company, form.horizon_h, allowance_t, form.price, form.penalty_multiple))
            out.update(emissions=result, chart=data_uri(result.png), allowance_source=source,
                       total_t=sum(result.forecast.mean) / 1000, lo_t=sum(result.forecast.lo) / 1000,
                       hi_t=sum(result.forecast.hi) / 1000)
        elif run == "price":
            pform = query_form(PriceForecastForm, params, ignore=("run",))
            series = await offload("reading the chain's transfers", lambda: chain_prices(app.reader))
            got = await app.results.get(("price", pform, series.dates[-1], len(series.dates)),
                                        "the price forecast",
                                        lambda: appdata.price_forecast(series, pform.weeks,
                                                                       "the chain's transfers"))
            out.update(price=got, price_chart=data_uri(got.png))
    return out
