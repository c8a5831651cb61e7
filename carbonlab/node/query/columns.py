"""Where each measured quantity lives in the ledger's tables: gases as data.

A gas the readings table has no column for (a ledger written before CH4 and N2O were
carried) reads as NULL: its total is "not measured", never zero.
"""

from __future__ import annotations

import sqlite3

from carbonlab.node.query.filters import Gas

# gas -> the readings (and reading_days) column with its interval mass in kg
GAS_COLUMNS: dict[Gas, str] = {Gas.CO2: "co2_kg", Gas.CH4: "ch4_kg", Gas.N2O: "n2o_kg"}
# other summed quantities: the interval's gross electrical output and heat input
ENERGY_COLUMNS = ("gross_mwh", "heat_input_gj")
SUMMED = (*GAS_COLUMNS.values(), *ENERGY_COLUMNS)


def present(db: sqlite3.Connection, table: str) -> frozenset[str]:
    """The columns `table` has in this file (empty if there is no such table)."""
    return frozenset(row[1] for row in db.execute(f"PRAGMA table_info({table})"))


def summed_expr(column: str, have: frozenset[str], alias: str, condition: str) -> str:
    """`SUM(column)` over the rows meeting `condition`, or NULL where the file lacks it."""
    if column not in have:
        return "NULL"
    return f"SUM(CASE WHEN {condition} THEN {alias}.{column} END)"
