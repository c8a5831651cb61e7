"""A ledger holding readings and allowance records, committed through `Ledger.commit` with real
gateway, member and certificate signatures: the small ledger's readings (tests.unit.node.query.
small_ledger) under a 7-member genesis with a companies section, plus, in block 4, the records of
acme's 2023 (an allocation by the emission department n3, a sale to globex by the trading centre
n7, a surrender by acme's member n1) and a statement signed by n1, a power company, which the
contract refuses but whose bytes the block certifies (a forger's material)."""

from __future__ import annotations

from pathlib import Path

from carbonlab.node.allowances.records import (
    Allocation,
    Basis,
    SignedRecord,
    Statement,
    Surrender,
    Transfer,
    sign_record,
)
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import Ledger
from tests.unit.node.factories import Kit, make_genesis_json, signer_for
from tests.unit.node.query.small_ledger import M1, M3

COMPANIES = [
    {"id": "acme", "name": "Acme Power", "member": "n1",
     "plants": [{"id": "plant1", "name": "P1", "units": [{"id": "unit1", "name": "U1"}]},
                {"id": "plant2", "name": "P2", "units": [{"id": "unit3", "name": "U3"}]}]},
    {"id": "globex", "name": "Globex", "member": "n1",
     "plants": [{"id": "plant1", "name": "G1", "units": [{"id": "unit2", "name": "U2"}]}]},
]


def kit7() -> Kit:
    raw = make_genesis_json(7)
    raw["companies"] = COMPANIES
    genesis = Genesis.from_json(raw)
    return Kit(genesis, {m: signer_for(m) for m in genesis.member_ids},
               {g.id: signer_for(g.id) for g in genesis.gateways})


def record(kit: Kit, body: object, signer: str, seq: int) -> SignedRecord:
    return sign_record(body, signer, kit.members[signer], chain_id=kit.chain_id, seq=seq)  # type: ignore[arg-type]


def build(path: Path) -> Kit:
    kit = kit7()
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(1, [kit.batch("gw1", 1, M1[:3]).encode(),
                                         kit.batch("gw2", 1, M3).encode()]))
        ledger.commit(*kit.certified(2, [kit.batch("gw1", 2, M1[3:4]).encode()]))
        ledger.commit(*kit.certified(3, [kit.batch("gw1", 3, M1[4:]).encode()]))
        records = [record(kit, Allocation(company="acme", year=2023, quantity_t=100), "n3", 1),
                   record(kit, Transfer(seller="acme", buyer="globex", year=2023, quantity_t=10,
                                        price_per_t=80.0, currency="EUR"), "n7", 1),
                   record(kit, Surrender(company="acme", year=2023, quantity_t=5), "n1", 1),
                   record(kit, Statement(company="acme", year=2023, emissions_t=1.0, basis=Basis.CO2E,
                                         gwp_set="AR5", manifest_hash="ab" * 32), "n1", 2)]
        ledger.commit(*kit.certified(4, [r.encode() for r in records]))
    return kit


def state(path: Path, kit: Kit, manifest_hash: str, emissions_t: float) -> None:
    """The verifier n5 states over `manifest_hash`, committed in block 5."""
    r = record(kit, Statement(company="acme", year=2023, emissions_t=emissions_t, basis=Basis.CO2E,
                              gwp_set="AR5", manifest_hash=manifest_hash), "n5", 1)
    with Ledger.open(path, kit.genesis) as ledger:
        ledger.commit(*kit.certified(5, [r.encode()]))
