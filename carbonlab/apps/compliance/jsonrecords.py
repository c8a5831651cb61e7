"""`AllowanceRecords` and `MarketData` from one JSON file (the tests' and the CLI's source until
the chain holds the records). Every record is read with its dataclass's declared rules, and an
error names the file and the record (`transfers[2].price_per_t`).

    {"allocations": [{"company", "year", "quantity_t", "issuer"}],
     "transfers": [{"seller", "buyer", "year", "quantity_t", "price_per_t", "currency", "settled_by"}],
     "surrenders": [{"company", "year", "quantity_t", "signer"}],
     "carry_overs": [{"company", "year", "quantity_t"}],
     "statements": [{"company", "year", "emissions_t", "basis", "gwp_set", "verifier", "manifest_hash"}],
     "data_quality": [{"company", "year", "substituted_share", "late_uploads", "falsification_found",
                       "illegal_gain"}],
     "market_prices": [{"year", "price_per_t", "currency", "basis"}]}

A year with no surrender record is open (before the deadline); a surrender of 0 t records that
the company surrendered nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from carbonlab import fields, jsonfile
from carbonlab.apps.compliance.errors import InputError
from carbonlab.apps.compliance.model import DataQuality, MarketPrice
from carbonlab.apps.compliance.records import (
    Allocation,
    CarryOver,
    Surrender,
    Transfer,
    VerificationStatement,
)
from carbonlab.boundedread import TooLargeError, read_limited
from carbonlab.fields import FieldError, like
from carbonlab.jsonfile import JsonFileError

T = TypeVar("T")
MAX_FILE_BYTES = 64 * 1024 * 1024   # records of many companies and years; never /dev/zero whole


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityRecord:
    company: str = like(Allocation, "company")
    year: int = like(Allocation, "year")
    substituted_share: float = like(DataQuality, "substituted_share")
    late_uploads: int = like(DataQuality, "late_uploads")
    falsification_found: bool = like(DataQuality, "falsification_found")
    illegal_gain: float = like(DataQuality, "illegal_gain")


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceRecord:
    year: int = like(Allocation, "year")
    price_per_t: float = like(MarketPrice, "price_per_t")
    currency: str = like(MarketPrice, "currency")
    basis: str = like(MarketPrice, "basis")


@dataclass(frozen=True)
class JsonRecords:
    file: str
    allocation_list: tuple[Allocation, ...] = ()
    transfer_list: tuple[Transfer, ...] = ()
    surrender_list: tuple[Surrender, ...] = ()
    carry_over_list: tuple[CarryOver, ...] = ()
    statement_list: tuple[VerificationStatement, ...] = ()
    quality_list: tuple[QualityRecord, ...] = ()
    price_list: tuple[PriceRecord, ...] = ()

    @classmethod
    def load(cls, path: Path) -> JsonRecords:
        where = str(path)
        try:
            raw = jsonfile.loads(read_limited(path, MAX_FILE_BYTES))
        except OSError as exc:
            raise InputError(where, "(file)", f"cannot read ({exc.strerror})") from None
        except TooLargeError as exc:
            raise InputError(where, "(file)", f"{exc}: not a records file") from None
        except JsonFileError as exc:
            raise InputError(where, "(file)", exc.problem) from None
        return cls.parse(raw, where)

    @classmethod
    def parse(cls, raw: Any, where: str) -> JsonRecords:
        keys = ("allocations", "transfers", "surrenders", "carry_overs", "statements", "data_quality",
                "market_prices")
        if not isinstance(raw, dict):
            raise InputError(where, "(top)", f"must be an object, got {type(raw).__name__}")
        for key in raw:
            if key not in keys:
                raise InputError(where, key, f"unknown field; allowed: {', '.join(keys)}")
        try:
            records = cls(
                where, _records(Allocation, raw.get("allocations", []), where, "allocations"),
                _records(Transfer, raw.get("transfers", []), where, "transfers"),
                _records(Surrender, raw.get("surrenders", []), where, "surrenders"),
                _records(CarryOver, raw.get("carry_overs", []), where, "carry_overs"),
                _records(VerificationStatement, raw.get("statements", []), where, "statements"),
                _records(QualityRecord, raw.get("data_quality", []), where, "data_quality"),
                _records(PriceRecord, raw.get("market_prices", []), where, "market_prices"))
        except FieldError as exc:
            raise InputError(exc.file, exc.field, exc.problem) from None
        records._check_unique()
        return records

    def _check_unique(self) -> None:
        for name, keys in (("statements", [(r.company, r.year) for r in self.statement_list]),
                           ("data_quality", [(r.company, r.year) for r in self.quality_list]),
                           ("carry_overs", [(r.company, r.year) for r in self.carry_over_list])):
            seen: dict[tuple[str, int], int] = {}
            for i, key in enumerate(keys):
                if key in seen:
                    raise InputError(self.file, f"{name}[{i}]", f"a second record for {key[0]} {key[1]} "
                                     f"(the first is {name}[{seen[key]}])")
                seen[key] = i
        prices: dict[tuple[int, str], int] = {}
        for i, p in enumerate(self.price_list):
            if (p.year, p.currency) in prices:
                raise InputError(self.file, f"market_prices[{i}]",
                                 f"a second {p.currency} price for {p.year} "
                                 f"(the first is market_prices[{prices[(p.year, p.currency)]}])")
            prices[(p.year, p.currency)] = i
        for i, t in enumerate(self.transfer_list):
            if t.seller == t.buyer:
                raise InputError(self.file, f"transfers[{i}].buyer", f"{t.buyer!r} is also the seller")

    # AllowanceRecords
    def allocations(self, company: str, year: int) -> Sequence[Allocation]:
        return [a for a in self.allocation_list if (a.company, a.year) == (company, year)]

    def transfers(self, company: str, year: int) -> Sequence[Transfer]:
        return [t for t in self.transfer_list if t.year == year and company in (t.seller, t.buyer)]

    def surrenders(self, company: str, year: int) -> Sequence[Surrender]:
        return [s for s in self.surrender_list if (s.company, s.year) == (company, year)]

    def carried_over(self, company: str, year: int) -> float:
        return sum(c.quantity_t for c in self.carry_over_list if (c.company, c.year) == (company, year))

    def statement(self, company: str, year: int) -> VerificationStatement | None:
        return next((s for s in self.statement_list if (s.company, s.year) == (company, year)), None)

    def companies(self) -> Sequence[str]:
        names = {a.company for a in self.allocation_list} | {s.company for s in self.statement_list}
        names |= {n for t in self.transfer_list for n in (t.seller, t.buyer)}
        return sorted(names)

    # MarketData
    def data_quality(self, company: str, year: int) -> DataQuality | None:
        q = next((q for q in self.quality_list if (q.company, q.year) == (company, year)), None)
        return None if q is None else DataQuality(q.substituted_share, q.late_uploads, q.falsification_found,
                                                  q.illegal_gain)

    def market_price(self, year: int, currency: str) -> MarketPrice | None:
        p = next((p for p in self.price_list if (p.year, p.currency) == (year, currency)), None)
        return None if p is None else MarketPrice(p.price_per_t, p.currency, p.basis)


def _records(kind: type[T], raw: Any, where: str, key: str) -> tuple[T, ...]:
    if not isinstance(raw, list):
        raise FieldError(where, key, f"must be a list, got {type(raw).__name__}")
    return tuple(fields.build(kind, item, file=where, prefix=f"{key}[{i}].") for i, item in enumerate(raw))
