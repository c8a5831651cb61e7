"""A small ledger with hand-chosen readings, built through `Ledger.commit` with real signatures.

D is 00:00 UTC, 15 Nov 2023. Meters (tests.unit.node.factories): m1 acme/plant1/unit1/stack1,
m2 globex/plant1/unit2/stack2 (never reports), m3 acme/plant2/unit3/stack3; interval 60 s.

    m1: D, D+60, D+120 (hour 0); D+3600 (hour 1, substituted); D+86400 (next day, flag M)
    m3: D, D+60
"""

from __future__ import annotations

from pathlib import Path

from carbonlab.node.ledger import Ledger
from carbonlab.node.model import DataFlag, Reading
from tests.unit.node.factories import Kit, make_kit, make_reading

D = 1_700_006_400
assert D % 86_400 == 0

M1 = [make_reading("m1", 1, D, co2_pct=10.0), make_reading("m1", 2, D + 60, co2_pct=11.0),
      make_reading("m1", 3, D + 120, co2_pct=12.0),
      make_reading("m1", 4, D + 3600, co2_pct=12.0, substituted=True),
      make_reading("m1", 5, D + 86_400, co2_pct=9.0, flag=DataFlag.MAINTENANCE)]
M3 = [make_reading("m3", 1, D, co2_pct=8.0, flow_m3_s=200.0),
      make_reading("m3", 2, D + 60, co2_pct=8.5, flow_m3_s=200.0)]


def kg(*readings: Reading) -> float:
    return sum(r.co2_kg for r in readings)


def build(path: Path) -> Kit:
    """Three blocks: (m1 1-3, m3 1-2), (m1 4), (m1 5)."""
    kit = make_kit()
    with Ledger.open(path, kit.genesis) as ledger:
        first = [kit.batch("gw1", 1, M1[:3]).encode(), kit.batch("gw2", 1, M3).encode()]
        ledger.commit(*kit.certified(1, first))
        ledger.commit(*kit.certified(2, [kit.batch("gw1", 2, M1[3:4]).encode()]))
        ledger.commit(*kit.certified(3, [kit.batch("gw1", 3, M1[4:]).encode()]))
        assert ledger.reading_count() == 7
    return kit
