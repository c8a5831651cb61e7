"""A reading of a large batch (hex over 64 KiB characters) is proven and checked like any other."""

from __future__ import annotations

from pathlib import Path

from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.proof import check_proof
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from carbonlab.node.query.prove import check_proofs
from tests.unit.node.factories import make_kit


def test_a_reading_of_a_large_batch_is_proven(tmp_path: Path) -> None:
    kit = make_kit()
    batch = kit.batch("gw2", 1, kit.next_readings("m3", 400))
    assert len(batch.encode().hex()) > 1 << 16
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [batch.encode()]))
        proof = ledger.reading_proof("m3", 400)
    assert proof is not None
    assert check_proof(kit.genesis, proof).seq == 400
    with open_source(tmp_path / "l.db") as src:
        result = src.query(EmissionsFilter(meter="m3"), period=Period.HOUR, level=Level.METER,
                           proofs=True)
    assert sum(len(r.proofs) for r in result.rows) == 400
    assert check_proofs(kit.genesis, result) == []
