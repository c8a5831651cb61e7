"""A 7-member genesis with companies (acme represented by n1, globex by n2) and helpers that
sign allowance records with the members' real keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from carbonlab.node.allowances.records import Body, SignedRecord, sign_record
from carbonlab.node.genesis import Genesis
from carbonlab.node.organisation import companies_json, derived
from tests.unit.node.factories import T0, Kit, make_genesis_json, signer_for

# factories.ROLES for n = 7: n1, n2 power-company; n3, n4 emission-management; n5 verifier;
# n6 environmental-protection; n7 trading-centre
MEMBER_OF_ROLE = {"power-company": "n1", "emission-management": "n3", "verifier": "n5",
                  "environmental-protection": "n6", "trading-centre": "n7"}
YEAR = 2023                     # open: blocks are timed at T0 (November 2023)
CLOSED_YEAR = 2021              # closed on 1 January 2023
HASH = "ab" * 32


def genesis_with_companies() -> Genesis:
    raw = make_genesis_json(7)
    meters = [(m["company"], m["plant"], m["unit"]) for m in raw["meters"]]
    raw["companies"] = companies_json(derived(meters, ["n1", "n2"]))
    return Genesis.from_json(raw)


@dataclass
class RecordKit:
    kit: Kit
    seqs: dict[str, int] = field(default_factory=dict)
    height: int = 0

    @classmethod
    def make(cls) -> RecordKit:
        genesis = genesis_with_companies()
        return cls(Kit(genesis, {m: signer_for(m) for m in genesis.member_ids},
                       {g.id: signer_for(g.id) for g in genesis.gateways}))

    @property
    def genesis(self) -> Genesis:
        return self.kit.genesis

    def sign(self, body: Body, member: str, seq: int | None = None) -> SignedRecord:
        if seq is None:
            seq = self.seqs.get(member, 0) + 1
        self.seqs[member] = max(seq, self.seqs.get(member, 0))
        return sign_record(body, member, self.kit.members[member], chain_id=self.genesis.chain_id,
                           seq=seq)

    def block_time_ms(self) -> int:
        return T0 * 1000
