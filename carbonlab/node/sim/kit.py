"""The simulated consortium: a genesis with real Ed25519 keys, and gateways that sign batches.

Keys are derived from the member or gateway name, so a seed always rebuilds the same
world. Gateways produce valid batches (CO2 mass recomputed as the contract does) and,
when asked, invalid ones (a wrong CO2 mass, or a signature by the wrong key) whose
bytes are remembered so the validity invariant can tell them apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from carbonlab.node import emissions
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import ROLES, Genesis
from carbonlab.node.model import Basis, Batch, DataFlag, Reading

T0 = 1_700_000_040
SIM_PARAMS = {"checkpoint_interval": 4, "watermark_window": 16, "max_block_batches": 8,
              "batch_delay_ms": 10, "request_timeout_ms": 400, "view_change_timeout_ms": 400}


def signer_for(name: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"carbonlab-sim-key/{name}".encode()).digest())


def genesis_json(n: int, gateways: int, params: dict[str, int] | None = None,
                 chain_id: str = "carbonlab-sim") -> dict[str, Any]:
    f = (n - 1) // 3
    return {
        "chain_id": chain_id, "n": n, "f": f, "params": dict(SIM_PARAMS if params is None else params),
        "members": [{"id": f"n{i}", "organisation": f"org{i}", "role": ROLES[(i - 1) % len(ROLES)],
                     "public_key": signer_for(f"n{i}").public_key.hex()} for i in range(1, n + 1)],
        "gateways": [{"id": f"gw{g}", "public_key": signer_for(f"gw{g}").public_key.hex(),
                      "meters": [f"m{g}"]} for g in range(1, gateways + 1)],
        "meters": [{"id": f"m{g}", "company": "acme" if g % 2 else "globex", "plant": f"plant{g}",
                    "unit": f"unit{g}", "stack": f"stack{g}"} for g in range(1, gateways + 1)],
    }


@dataclass
class Kit:
    genesis: Genesis
    members: dict[str, Signer]
    gateways: dict[str, Signer]
    batch_seq: dict[str, int] = field(default_factory=dict)
    reading_seq: dict[str, int] = field(default_factory=dict)
    valid: set[bytes] = field(default_factory=set)
    invalid: set[bytes] = field(default_factory=set)

    @classmethod
    def build(cls, n: int, gateways: int, params: dict[str, int] | None = None) -> Kit:
        genesis = Genesis.from_json(genesis_json(n, gateways, params))
        return cls(genesis, {m: signer_for(m) for m in genesis.member_ids},
                   {g.id: signer_for(g.id) for g in genesis.gateways})

    def next_batch(self, gateway_id: str, readings: int = 1, *, corrupt: str = "") -> bytes:
        """The gateway's next batch bytes; `corrupt` = "co2" or "signature" makes it invalid."""
        meter = self.genesis.gateway_by_id[gateway_id].meters[0]
        out: list[Reading] = []
        for _ in range(readings):
            seq = self.reading_seq.get(meter, 0) + 1
            self.reading_seq[meter] = seq
            wobble = (seq * 7919 % 101) / 1000.0
            co2_pct, flow = 11.0 + wobble, 120.0 + 10 * wobble
            co2_kg = emissions.co2_mass_kg(co2_pct, "wet", 8.0, flow, 140.0, 100.5, 60)
            if corrupt == "co2":
                co2_kg *= 1.5
            out.append(Reading(meter, seq, T0 + 60 * (seq - 1), 60, co2_pct, Basis.WET, 6.0, 8.0,
                               flow, 140.0, 100.5, 60, DataFlag.NORMAL, co2_kg))
        seq = self.batch_seq.get(gateway_id, 0) + 1
        self.batch_seq[gateway_id] = seq
        signer = self.members["n1"] if corrupt == "signature" else self.gateways[gateway_id]
        data = Batch(self.genesis.chain_id, gateway_id, seq, tuple(out)).signed(signer).encode()
        (self.invalid if corrupt else self.valid).add(data)
        if corrupt:   # rejected readings are not on the ledger: their seqs may be used again
            self.reading_seq[meter] -= readings
        return data
