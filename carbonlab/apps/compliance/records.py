"""Where a position's inputs come from: the allowance records, as the chain will hold them.

Theory of operation. Issue 14's item 1 puts four record kinds on the chain, each signed by the
member whose genesis role may make it: an allocation (emission department), a transfer with
quantity and price (trading centre), a surrender (the company's power-company member) and a
verification statement (verifier); their schema is the node's (`carbonlab.node.allowances`).
The dataclasses here are a position's view of them: the body with the member that signed it,
quantities as tonnes (float, the unit a position computes in; the chain's are whole
allowances), each field's rule taken from the node's declaration where the two agree (`like`).
`AllowanceRecords` is the interface a position reads them through: `chainrecords.ChainRecords`
implements it from a ledger file or a member's API, `jsonrecords.JsonRecords` from a JSON file
(tests, and records kept off the chain). Data quality
and the market price are not allowance records (they come from the query module and the
trading centre's price series), so `MarketData` reads them apart.

`assemble` folds one company-year of records into the typed `ComplianceInputs`; the carry-over
from the previous year is read as its own figure, because how much may be banked is the rule
set's business, not a sum the adapter may invent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import (
    MAX_T,
    AllowanceLedger,
    Basis,
    ComplianceInputs,
    DataQuality,
    MarketPrice,
    Trade,
    VerifiedEmissions,
)
from carbonlab.checks import shown
from carbonlab.fields import like, spec
from carbonlab.node.allowances import records as chain


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    company: str = like(chain.Allocation, "company")
    year: int = like(chain.Allocation, "year")
    quantity_t: float = spec(lo=0.0, hi=MAX_T)
    issuer: str = spec()                 # the emission department member that signed it


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    seller: str = like(chain.Transfer, "seller")
    buyer: str = like(chain.Transfer, "buyer")
    year: int = like(Allocation, "year")     # the compliance year the allowances count for
    quantity_t: float = spec(lo=0.0, hi=MAX_T)
    price_per_t: float = like(Trade, "price_per_t")
    currency: str = like(Trade, "currency")
    settled_by: str = spec()             # the trading centre member that signed it


@dataclass(frozen=True, slots=True, kw_only=True)
class Surrender:
    company: str = like(Allocation, "company")
    year: int = like(Allocation, "year")
    quantity_t: float = spec(lo=0.0, hi=MAX_T)
    signer: str = spec()                 # the company's power-company member


@dataclass(frozen=True, slots=True, kw_only=True)
class CarryOver:
    """Allowances banked into `year` from the year before."""
    company: str = like(Allocation, "company")
    year: int = like(Allocation, "year")
    quantity_t: float = spec(lo=0.0, hi=MAX_T)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationStatement:
    company: str = like(Allocation, "company")
    year: int = like(Allocation, "year")
    emissions_t: float = like(VerifiedEmissions, "total_t")
    basis: Basis = like(VerifiedEmissions, "basis")
    gwp_set: str | None = like(VerifiedEmissions, "gwp_set")
    verifier: str = spec()
    manifest_hash: str = like(VerifiedEmissions, "manifest_hash")


class AllowanceRecords(Protocol):
    """The allowance records of the chain (issue 14, item 1), read for one company and year."""

    def allocations(self, company: str, year: int) -> Sequence[Allocation]: ...
    def transfers(self, company: str, year: int) -> Sequence[Transfer]: ...   # as seller or buyer
    def surrenders(self, company: str, year: int) -> Sequence[Surrender]: ...
    def carried_over(self, company: str, year: int) -> float: ...
    def statement(self, company: str, year: int) -> VerificationStatement | None: ...
    def companies(self) -> Sequence[str]: ...


class MarketData(Protocol):
    """What a position needs besides the allowance records."""

    def data_quality(self, company: str, year: int) -> DataQuality | None: ...
    def market_price(self, year: int, currency: str) -> MarketPrice | None: ...


def assemble(records: AllowanceRecords, market: MarketData, company: str, year: int, currency: str,
             source: str = "records") -> ComplianceInputs:
    """One company-year of records as typed inputs; `InputError` naming what is missing."""
    if company not in records.companies():
        raise InputError(source, "company", f"no records for company {shown(company)}; companies: "
                         f"{', '.join(records.companies()) or '(none)'}")
    statement = records.statement(company, year)
    if statement is None:
        raise InputError(source, "statements", f"no verification statement for {company} {year}: "
                         "a position needs verified emissions")
    price = market.market_price(year, currency)
    if price is None:
        raise InputError(source, "market_prices", f"no {currency} market price for {year}")
    allocations = records.allocations(company, year)
    if not allocations:
        raise InputError(source, "allocations", f"no allocation to {company} for {year}")
    transfers = records.transfers(company, year)
    surrenders = records.surrenders(company, year)
    ledger = AllowanceLedger(
        company=company, year=year, allocated_t=sum(a.quantity_t for a in allocations),
        bought=tuple(Trade(t.quantity_t, t.price_per_t, t.currency) for t in transfers if t.buyer == company),
        sold=tuple(Trade(t.quantity_t, t.price_per_t, t.currency) for t in transfers if t.seller == company),
        banked_t=records.carried_over(company, year),
        surrendered_t=sum(s.quantity_t for s in surrenders) if surrenders else None)
    emissions = VerifiedEmissions(statement.emissions_t, statement.basis, statement.gwp_set,
                                  statement.verifier, statement.manifest_hash)
    quality = market.data_quality(company, year)
    if quality is None:
        raise InputError(source, "data_quality", f"no data-quality figures for {company} {year} "
                         "(substituted share, late uploads: the rule sets' data-quality terms need them)")
    return ComplianceInputs(ledger, emissions, quality, price)
