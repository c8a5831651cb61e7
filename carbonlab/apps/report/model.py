"""The report's typed values: templates, the meter-month cells every figure is summed from, and
the tables of named figures the JSON, the XLSX and the PDF all show.

A figure is named `table/key.../column` (`unit_monthly/plant1/unit1/2024-03/co2_t`): the
verifier says which one differs by that name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carbonlab.errors import CarbonlabError

Value = float | int | None
YEARS = (1990, 2200)     # the report years `build` and `verify` accept (the allowance records' range)


class ReportError(CarbonlabError):
    """A report cannot be built or read: `field` names the option, file or entry at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Template(StrEnum):
    CN_POWER = "cn-power"
    EU_MRR = "eu-mrr"
    GHG_SCOPE1 = "ghg-scope1"


@dataclass(frozen=True, slots=True)
class Cell:
    """One meter's readings in one calendar month (UTC) of the report year. Masses in kg (None:
    no reading carries the gas), energy in MWh and GJ, counts of readings and intervals."""

    meter: str
    month_start: int
    co2_kg: float | None
    ch4_kg: float | None
    n2o_kg: float | None
    gross_mwh: float | None
    heat_input_gj: float | None
    readings: int
    substituted: int
    expected: int
    missing: int


@dataclass(frozen=True, slots=True)
class Row:
    key: tuple[str, ...]
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    title: str
    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def figures(self) -> dict[str, Value]:
        """Every figure of the table by its name."""
        return {figure_name(self.name, row.key, col): v for row in self.rows
                for col, v in zip(self.value_columns, row.values, strict=True)}


def figure_name(table: str, key: tuple[str, ...], column: str) -> str:
    return "/".join((table, *key, column))


@dataclass(frozen=True, slots=True)
class Allowances:
    """The company's allowance account for the year from the allowance records (tonnes)."""

    allocated_t: float
    bought_t: float
    sold_t: float
    banked_t: float
    surrendered_t: float | None

    @property
    def holdings_t(self) -> float:
        return self.allocated_t + self.bought_t - self.sold_t + self.banked_t


@dataclass(frozen=True, slots=True)
class Report:
    """One company-year under one template: what every output file renders."""

    company: str
    company_name: str
    year: int
    template: Template
    gwp: str
    chain_id: str
    genesis_hash: str
    tables: tuple[Table, ...]
    notes: tuple[str, ...]

    def figures(self) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for t in self.tables:
            out.update(t.figures())
        return out

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)
