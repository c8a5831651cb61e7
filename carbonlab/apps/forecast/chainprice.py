"""Daily carbon prices from the trading centre's transfer records on the chain.

Theory of operation. Each transfer the allowance contract accepted carries a quantity, a
price per tonne and a currency, and is dated by the block that settled it
(`apps/chain.py`). A day's price is the volume-weighted average of its transfers,
sum(q * p) / sum(q): one large trade counts for what it moved, a token trade does not swing
the day. Transfers at a price of 0 (allocations moved within a group, gifts) are not trades
and are left out, and counted. One currency per series: with several on the chain the caller
names one (`--currency`), otherwise it is an error listing them.

Gaps: a business day (Monday to Friday) between the first and the last traded day with no
transfer takes the previous day's price (carried forward, the usual convention for an
illiquid market's settlement series), so the forecaster sees an evenly spaced series; the
days filled are returned and printed, with the longest run, so a thin market is said, not
hidden. A traded weekend day is kept as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from carbonlab.apps.chain import SettledTransfer
from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.price import Cadence, PriceSeries

MIN_DAYS = 30    # what the price forecaster needs (as for a CSV)


@dataclass(frozen=True, slots=True)
class ChainPrices:
    series: PriceSeries
    volume_t: tuple[int, ...]      # per day of the series; 0 on a filled day
    filled: tuple[date, ...]       # business days without a trade, carried forward
    transfers: int                 # the transfers averaged
    zero_price: int                # transfers at price 0, left out

    @property
    def longest_gap(self) -> int:
        """The longest run of consecutive filled business days."""
        best = run = 0
        previous: date | None = None
        for d in self.filled:
            run = run + 1 if previous is not None and Cadence.BUSINESS_DAY.step(previous, 1) == d else 1
            best = max(best, run)
            previous = d
        return best


def daily_prices(transfers: Sequence[SettledTransfer], *, currency: str | None = None,
                 where: str = "--node/--ledger") -> ChainPrices:
    """The volume-weighted daily price series of `transfers` (see the module's docstring)."""
    currencies = sorted({t.transfer.currency for t in transfers})
    if currency is None:
        if len(currencies) > 1:
            raise InputError("--currency", f"the chain's transfers are in {', '.join(currencies)}: name one")
        currency = currencies[0] if currencies else None
    chosen = [t for t in transfers if t.transfer.currency == currency]
    priced = [t for t in chosen if t.transfer.price_per_t > 0]
    value: dict[date, float] = {}
    volume: dict[date, int] = {}
    for t in priced:
        value[t.day] = value.get(t.day, 0.0) + t.transfer.quantity_t * t.transfer.price_per_t
        volume[t.day] = volume.get(t.day, 0) + t.transfer.quantity_t
    traded = sorted(volume)
    if len(traded) < 2 or currency is None:
        raise InputError(where, f"{len(priced)} priced transfer(s) in {currency or 'any currency'} on "
                         f"{len(traded)} day(s): a daily price series needs transfers on two or more days")
    dates: list[date] = []
    prices: list[float] = []
    volumes: list[int] = []
    filled: list[date] = []
    day = traded[0]
    while day <= traded[-1]:
        if day in volume:
            dates.append(day)
            prices.append(value[day] / volume[day])
            volumes.append(volume[day])
        elif day.weekday() < 5:
            dates.append(day)
            prices.append(prices[-1])
            volumes.append(0)
            filled.append(day)
        day += timedelta(days=1)
    if len(dates) < MIN_DAYS:
        raise InputError(where, f"the transfers give {len(dates)} daily prices ({traded[0]}..{traded[-1]}); "
                         f"a forecast needs at least {MIN_DAYS}")
    return ChainPrices(PriceSeries(tuple(dates), tuple(prices), currency), tuple(volumes), tuple(filled),
                       len(priced), len(chosen) - len(priced))


def recent_price(transfers: Sequence[SettledTransfer], currency: str, *, days: int = 30) -> tuple[float, str]:
    """The volume-weighted price of the priced transfers in `currency` over the last `days`
    calendar days that have any, with a sentence saying so (a position's market price)."""
    priced = [t for t in transfers if t.transfer.currency == currency and t.transfer.price_per_t > 0]
    if not priced:
        raise InputError("--price", f"no priced transfer in {currency} on the chain: give --price")
    last = max(t.day for t in priced)
    window = [t for t in priced if (last - t.day).days < days]
    volume = sum(t.transfer.quantity_t for t in window)
    price = sum(t.transfer.quantity_t * t.transfer.price_per_t for t in window) / volume
    first = min(t.day for t in window)
    return price, (f"volume-weighted price of {len(window)} transfer(s), {volume:,} t, "
                   f"{first}..{last} on the chain")
