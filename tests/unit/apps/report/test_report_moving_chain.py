"""A report built while its chain moves on (a node still writing the ledger, a live lab's member
answering the API) proves exactly the readings its figures sum: those of the blocks up to the
height the query was as of. CI found the race on the live lab: a block committed between the
figures and the proofs put readings in the proofs that no figure held, and `report verify` said
"4.519 stated, 4.970 recomputed from the proven readings"."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from carbonlab.apps.report.build import build
from carbonlab.apps.report.model import Template
from carbonlab.apps.report.sources import LedgerFile
from carbonlab.apps.report.verify import verify
from carbonlab.node.errors import SchemaError
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger import Ledger
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from tests.unit.node.factories import Kit, make_reading
from tests.unit.node.query.small_ledger import M1, M3, D
from tests.unit.node.query.small_ledger import build as build_ledger

LATE = make_reading("m1", 6, D + 2 * 86_400, co2_pct=13.0)     # acme's, in the report's year


class MovingLedger(LedgerFile):
    """A ledger file that gains a block (acme's reading LATE) after the report's figures were
    read and before its proofs are."""

    def __init__(self, path: Path, kit: Kit) -> None:
        super().__init__(path)
        self.path, self.kit = path, kit

    def proofs(self, meters: Iterable[str], since: int, until: int, upto: int) -> dict[str, Any]:
        with Ledger.open(self.path, self.kit.genesis) as writer:
            writer.commit(*self.kit.certified(4, [self.kit.batch("gw1", 4, [LATE]).encode()]))
        return super().proofs(meters, since, until, upto)


def test_a_block_committed_between_figures_and_proofs_is_in_neither(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    kit = build_ledger(path)
    source = MovingLedger(path, kit)
    try:
        built = build(source, company="acme", year=2023, template=Template.CN_POWER, gwp=GwpSet.AR5,
                      out=tmp_path / "report")
    finally:
        source.close()
    assert built.height == 3
    assert built.readings == len(M1) + len(M3)
    proofs = json.loads((tmp_path / "report" / "proofs.json").read_text())
    assert [b["header"]["height"] for b in proofs["blocks"]] == [1, 2, 3]
    res = verify(tmp_path / "report", kit.genesis)
    assert res.problems == [], res.problems
    assert res.readings == len(M1) + len(M3)
    # the block did land: a report built now is as of height 4 and holds LATE
    with open_source(path) as after:
        result = after.query(EmissionsFilter(company="acme"), period=Period.YEAR, level=Level.COMPANY)
    assert result.height == 4
    assert sum(r.readings for r in result.rows) == len(M1) + len(M3) + 1


def test_the_query_reports_the_height_of_its_snapshot_and_the_api_form_carries_it(tmp_path: Path) -> None:
    from carbonlab.node.query import QueryResult

    path = tmp_path / "ledger.sqlite"
    build_ledger(path)
    with open_source(path) as source:
        result = source.query(EmissionsFilter(company="acme"), period=Period.MONTH, level=Level.METER)
    assert result.height == 3
    again = QueryResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result
    broken = result.to_json()
    del broken["height"]
    with pytest.raises(SchemaError) as err:
        QueryResult.from_json(broken)
    assert err.value.field == "answer.height"


def test_the_readings_listing_stops_at_max_height_so_later_blocks_cannot_shift_its_pages(
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    kit = build_ledger(path)
    early = make_reading("m3", 3, D + 120, co2_pct=8.0, flow_m3_s=200.0)   # an old interval, late
    with Ledger.open(path, kit.genesis) as ledger:
        before = ledger.readings(company="acme", max_height=3, limit=10_000)
        ledger.commit(*kit.certified(4, [kit.batch("gw2", 2, [early]).encode()]))
        after = ledger.readings(company="acme", max_height=3, limit=10_000)
        pages = [r for off in range(0, 10, 2)
                 for r in ledger.readings(company="acme", max_height=3, limit=2, offset=off)]
        everything = ledger.readings(company="acme", limit=10_000)
    assert after == before == pages
    assert len(before) == len(M1) + len(M3)
    assert len(everything) == len(before) + 1
