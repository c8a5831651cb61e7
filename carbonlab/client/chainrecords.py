"""The compliance position's inputs from the chain, read through the member's API.

Theory of operation. `apps.compliance.records.AllowanceRecords` is the interface a position
reads allowance records through. `ChainRecords` implements it over one company-year's executed
records as the member serves them (`GET /v1/allowances/history?company=&year=`, read back with
the node's own `entries_from_json`); only accepted records count (a refused one changed no
balance). Each node record becomes the apps record of the same kind, the signer standing as the
issuer, the trading centre that settled, the surrendering member or the verifier. There is no
carry-over record on the chain yet, so nothing is banked.

`MarketData` (data quality and the market price) is not an allowance record: the substituted
share comes from the query module (the company-year's substituted readings over all of them),
the price from the form or, when none is given, the mean price of the year's transfers on the
chain in the rule set's currency; late uploads come from the form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from carbonlab.apps.compliance.model import Basis as AppsBasis
from carbonlab.apps.compliance.model import DataQuality, MarketPrice
from carbonlab.apps.compliance.records import (
    Allocation,
    Surrender,
    Transfer,
    VerificationStatement,
)
from carbonlab.apps.report.cells import year_bounds
from carbonlab.client.appdata import NodeReader, NodeUnavailable
from carbonlab.node.allowances import records as nr
from carbonlab.node.allowances.answers import RecordEntry, entries_from_json
from carbonlab.node.errors import SchemaError
from carbonlab.node.query import EmissionsFilter, Level, Period


def history(reader: NodeReader, company: str, year: int | None = None,
            kind: str | None = None) -> list[RecordEntry]:
    params = {"company": company}
    if year is not None:
        params["year"] = str(year)
    if kind is not None:
        params["kind"] = kind
    answer = reader.get("/v1/allowances/history", params)
    try:
        return entries_from_json(answer.get("records") if isinstance(answer, dict) else None)
    except SchemaError as exc:
        raise NodeUnavailable(f"{reader.url}/v1/allowances/history",
                              f"not a list of records ({exc})") from None


def transfers(reader: NodeReader, year: int | None = None) -> list[RecordEntry]:
    """Every accepted transfer on the chain (of `year`), with its price."""
    params = {"kind": "transfer"}
    if year is not None:
        params["year"] = str(year)
    answer = reader.get("/v1/allowances/records", params)
    try:
        found = entries_from_json(answer.get("records") if isinstance(answer, dict) else None)
    except SchemaError as exc:
        raise NodeUnavailable(f"{reader.url}/v1/allowances/records",
                              f"not a list of records ({exc})") from None
    return [e for e in found if e.accepted and isinstance(e.record.body, nr.Transfer)]


@dataclass(frozen=True)
class ChainRecords:
    """`AllowanceRecords` over one company-year's entries (what `history` returned)."""

    company: str
    year: int
    entries: tuple[RecordEntry, ...]
    known_companies: tuple[str, ...]

    def _bodies(self, company: str, year: int) -> list[tuple[str, nr.Body]]:
        if (company, year) != (self.company, self.year):
            return []
        return [(e.record.signer, e.record.body) for e in self.entries if e.accepted]

    def allocations(self, company: str, year: int) -> Sequence[Allocation]:
        return [Allocation(company=b.company, year=b.year, quantity_t=float(b.quantity_t), issuer=s)
                for s, b in self._bodies(company, year) if isinstance(b, nr.Allocation)]

    def transfers(self, company: str, year: int) -> Sequence[Transfer]:
        return [Transfer(seller=b.seller, buyer=b.buyer, year=b.year, quantity_t=float(b.quantity_t),
                         price_per_t=b.price_per_t, currency=b.currency, settled_by=s)
                for s, b in self._bodies(company, year) if isinstance(b, nr.Transfer)]

    def surrenders(self, company: str, year: int) -> Sequence[Surrender]:
        return [Surrender(company=b.company, year=b.year, quantity_t=float(b.quantity_t), signer=s)
                for s, b in self._bodies(company, year) if isinstance(b, nr.Surrender)]

    def carried_over(self, company: str, year: int) -> float:
        return 0.0

    def statement(self, company: str, year: int) -> VerificationStatement | None:
        return next((VerificationStatement(company=b.company, year=b.year, emissions_t=b.emissions_t,
                                           basis=AppsBasis(b.basis.value), gwp_set=b.gwp_set, verifier=s,
                                           manifest_hash=b.manifest_hash)
                     for s, b in self._bodies(company, year) if isinstance(b, nr.Statement)),
                    None)

    def companies(self) -> Sequence[str]:
        return self.known_companies


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
