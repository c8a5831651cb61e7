"""The query and structure modules: emissions the ledger answers for, by filter and period.

`open_source(path)` opens a ledger file read-only for the application modules; the node's
API serves the same engine (`Ledger.emissions_query`, `Ledger.emissions_structure`).
"""

from carbonlab.node.query.filters import EmissionsFilter, FilterError, Gas, Level, Measured, Period
from carbonlab.node.query.rollup import QueryResult, RollupRow
from carbonlab.node.query.source import LedgerSource, open_source
from carbonlab.node.query.structure import StructureNode, StructureResult

__all__ = ["EmissionsFilter", "FilterError", "Gas", "LedgerSource", "Level", "Measured", "Period",
           "QueryResult", "RollupRow", "StructureNode", "StructureResult", "open_source"]
