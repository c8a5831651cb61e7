"""The compliance position's inputs from the chain, read through the member's API.

Theory of operation. `apps.compliance.records.AllowanceRecords` is the interface a position
reads allowance records through; `apps.compliance.chainrecords.ChainRecords` implements it over
the chain's entries (accepted ones only, no carry-over). The console feeds it one company-year's
executed records as the member serves them (`GET /v1/allowances/history?company=&year=`, read
back with the node's own `entries_from_json`), so a page reads no more of the chain than it shows.

`MarketData` (data quality and the market price) is not an allowance record: the substituted
share comes from the query module (the company-year's substituted readings over all of them),
the price from the form or, when none is given, the mean price of the year's transfers on the
chain in the rule set's currency; late uploads come from the form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from carbonlab.apps.compliance.model import DataQuality, MarketPrice
from carbonlab.apps.report.cells import year_bounds
from carbonlab.client.appdata import NodeReader, NodeUnavailable
from carbonlab.node.allowances import records as nr
from carbonlab.node.allowances.answers import Balance, RecordEntry
from carbonlab.node.allowances.client import AllowanceClient, AllowanceClientError
from carbonlab.node.allowances.records import Kind
from carbonlab.node.query import EmissionsFilter, Level, Period

T = TypeVar("T")


def allowances(reader: NodeReader) -> AllowanceClient:
    """The node's own typed client of the allowance routes, on the reader's member."""
    return AllowanceClient(reader.url, reader.timeout_s)


def _call(reader: NodeReader, what: str, fn: Callable[[AllowanceClient], T]) -> T:
    try:
        return fn(allowances(reader))
    except AllowanceClientError as exc:
        raise NodeUnavailable(f"{reader.url} ({what})", str(exc)) from None


def history(reader: NodeReader, company: str, year: int | None = None) -> list[RecordEntry]:
    return _call(reader, "history", lambda c: c.history(company, year))


def balance(reader: NodeReader, company: str, year: int) -> Balance:
    return _call(reader, "balance", lambda c: c.balance(company, year))


def transfers(reader: NodeReader, year: int | None = None) -> list[RecordEntry]:
    """Every accepted transfer on the chain (of `year`), with its price."""
    found = _call(reader, "records", lambda c: c.records(year, Kind.TRANSFER))
    return [e for e in found if e.accepted and isinstance(e.record.body, nr.Transfer)]


@dataclass(frozen=True)
class ChainMarket:
    """`MarketData` for one company-year: the chain's substituted share, a price, late uploads."""

    quality: DataQuality
    price: MarketPrice | None

    def data_quality(self, company: str, year: int) -> DataQuality | None:
        return self.quality

    def market_price(self, year: int, currency: str) -> MarketPrice | None:
        return self.price if self.price is not None and self.price.currency == currency else None


def substituted_share(reader: NodeReader, company: str, year: int) -> float:
    since, until = year_bounds(year)
    flt = EmissionsFilter(company=company, since=since, until=until)
    rows = reader.query(flt, Period.YEAR, Level.COMPANY).rows
    readings = sum(r.readings for r in rows)
    return 0.0 if readings == 0 else sum(r.substituted for r in rows) / readings


def chain_price(reader: NodeReader, year: int, currency: str) -> MarketPrice | None:
    """The mean price of `year`'s accepted transfers in `currency` (None when there is none)."""
    prices = [e.record.body.price_per_t for e in transfers(reader, year)
              if isinstance(e.record.body, nr.Transfer) and e.record.body.currency == currency]
    if not prices:
        return None
    return MarketPrice(math.fsum(prices) / len(prices), currency,
                       f"mean of {len(prices)} transfer(s) on the chain")
