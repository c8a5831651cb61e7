"""The typed inputs of a compliance position: one company, one compliance year.

An `AllowanceLedger` is the company's allowance account for the year (what it was allocated,
bought with price, sold, carried over from the previous year, surrendered);
`VerifiedEmissions` the verifier's figure; `DataQuality` the share of substituted hours and
the late uploads; `MarketPrice` the price the rule set's terms are valued at. The fields carry
their rules (`carbonlab.fields.spec`) so that every source (the JSON records file now, the
chain's allowance records later) is checked once, by the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbonlab.apps.iso4217 import currency_problem
from carbonlab.fields import spec
from carbonlab.node.allowances.records import Basis as Basis  # the chain's statements define it

# Upper bounds of the inputs, far above any real company-year (the world emits ~4e10 t a year),
# so that sums and fines stay finite: a figure of 1e308 would print "inf" and non-JSON.
MAX_T = 1e12
MAX_PRICE_PER_T = 1e6
MAX_AMOUNT = 1e15
MAX_COUNT = 1_000_000    # a count of events in a year (late uploads: a year has 8,784 hours)


@dataclass(frozen=True, slots=True)
class Trade:
    """One purchase or sale of allowances for the year, with its price per tonne."""
    quantity_t: float = spec(lo=0.0, hi=MAX_T)
    price_per_t: float = spec(lo=0.0, hi=MAX_PRICE_PER_T)
    currency: str = spec(check=currency_problem)

    @property
    def value(self) -> float:
        return self.quantity_t * self.price_per_t


@dataclass(frozen=True, slots=True)
class AllowanceLedger:
    """A company's allowances for one compliance year, in tonnes (one allowance = 1 t).

    `surrendered_t` is None while no surrender is recorded (before the deadline): the position
    then assumes the company surrenders what it holds, up to its emissions."""
    company: str
    year: int
    allocated_t: float
    bought: tuple[Trade, ...] = ()
    sold: tuple[Trade, ...] = ()
    banked_t: float = 0.0          # carried over from the previous year
    surrendered_t: float | None = None

    @property
    def bought_t(self) -> float:
        return sum(t.quantity_t for t in self.bought)

    @property
    def sold_t(self) -> float:
        return sum(t.quantity_t for t in self.sold)

    @property
    def holdings_t(self) -> float:
        """allocated + bought - sold + banked."""
        return self.allocated_t + self.bought_t - self.sold_t + self.banked_t


@dataclass(frozen=True, slots=True)
class VerifiedEmissions:
    """The year's emissions as the verifier signed them off."""
    total_t: float = spec(lo=0.0, hi=MAX_T)
    basis: Basis = spec(Basis.CO2)
    gwp_set: str | None = spec(None)          # named when basis is co2e (AR5, AR6)
    verifier: str = spec("")
    manifest_hash: str = spec("", allow_empty=True)


@dataclass(frozen=True, slots=True)
class DataQuality:
    """Data-quality figures for the year; `falsification_found` is a competent authority's finding."""
    substituted_share: float = spec(0.0, lo=0.0, hi=1.0)   # of the operating hours
    late_uploads: int = spec(0, lo=0, hi=MAX_COUNT)
    falsification_found: bool = spec(False)
    illegal_gain: float = spec(0.0, lo=0.0, hi=MAX_AMOUNT)               # in the rule set's currency


@dataclass(frozen=True, slots=True)
class MarketPrice:
    """The allowance price the terms are valued at, and how it was taken."""
    price_per_t: float = spec(lo=0.0, hi=MAX_PRICE_PER_T)
    currency: str = spec(check=currency_problem)
    basis: str = spec("", allow_empty=True)   # e.g. "average of the month before the deadline"


@dataclass(frozen=True, slots=True)
class ComplianceInputs:
    ledger: AllowanceLedger
    emissions: VerifiedEmissions
    quality: DataQuality
    price: MarketPrice
