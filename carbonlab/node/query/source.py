"""A ledger file opened read-only for queries: what the application modules call.

    with open_source(Path("ledger.sqlite")) as source:
        result = source.query(EmissionsFilter(company="acme"), period=Period.MONTH)

It is the node's own query code over the node's own file format; a member's API serves the
same results (`GET /v1/emissions/query`, `/v1/emissions/structure`).
"""

from __future__ import annotations

from pathlib import Path

from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger.store import Ledger
from carbonlab.node.query.filters import EmissionsFilter, Level, Period
from carbonlab.node.query.rollup import QueryResult
from carbonlab.node.query.structure import StructureResult
from carbonlab.node.query_names import MAX_ROWS


class LedgerSource:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def genesis(self) -> Genesis:
        return self.ledger.genesis

    def query(self, flt: EmissionsFilter, *, period: Period = Period.DAY,
              level: Level = Level.COMPANY, proofs: bool = False,
              max_rows: int | None = MAX_ROWS) -> QueryResult:
        """See `rollup.query`; `max_rows` None lifts the limit on the answer's rows."""
        return self.ledger.emissions_query(flt, period=period, level=level, proofs=proofs,
                                           max_rows=max_rows)

    def structure(self, flt: EmissionsFilter, gwp: GwpSet = GwpSet.AR5) -> StructureResult:
        return self.ledger.emissions_structure(flt, gwp)

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> LedgerSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: Path, genesis: Genesis | None = None) -> LedgerSource:
    """Open the ledger at `path` read-only (with its own copy of genesis unless one is given)."""
    return LedgerSource(Ledger.open_readonly(Path(path), genesis))
