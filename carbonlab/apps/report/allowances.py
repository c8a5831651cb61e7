"""The allowance records a report carries: read through apps/compliance's `AllowanceRecords`,
written into the bundle in `JsonRecords`' format (so the verifier reads them back with the same
declared field rules) and folded into the report's allowance account."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from carbonlab.apps.compliance.records import AllowanceRecords, VerificationStatement
from carbonlab.apps.report.model import Allowances


def account(records: AllowanceRecords, company: str, year: int) -> Allowances:
    transfers = records.transfers(company, year)
    surrenders = records.surrenders(company, year)
    return Allowances(
        allocated_t=sum(a.quantity_t for a in records.allocations(company, year)),
        bought_t=sum(t.quantity_t for t in transfers if t.buyer == company),
        sold_t=sum(t.quantity_t for t in transfers if t.seller == company),
        banked_t=records.carried_over(company, year),
        surrendered_t=sum(s.quantity_t for s in surrenders) if surrenders else None)


def _plain(record: Any) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in dataclasses.asdict(record).items()}


def records_json(records: AllowanceRecords, company: str, year: int) -> dict[str, Any]:
    """The company-year's records in `JsonRecords`' file format, without the verifier's statement
    (it is made over the report's manifest, so it travels beside it: `statement.json`)."""
    carried = records.carried_over(company, year)
    return {
        "allocations": [_plain(a) for a in records.allocations(company, year)],
        "transfers": [_plain(t) for t in records.transfers(company, year)],
        "surrenders": [_plain(s) for s in records.surrenders(company, year)],
        "carry_overs": [{"company": company, "year": year, "quantity_t": carried}] if carried else [],
    }


def statement_json(statement: VerificationStatement) -> dict[str, Any]:
    return _plain(statement)
