"""Test factories: a genesis with real keys, correctly signed batches, certified proposals.

Keys are derived from names (`seed_for("n1")`), so every run and every process builds
the same genesis. Import as `from tests.unit.node.factories import ...` (pytest runs as
`python -m pytest` from the repository root).

    kit = make_kit(n=4)                              # members n1..n4, gw1 -> m1, m2; gw2 -> m3
    b = kit.next_batch("gw1")                        # next valid signed batch of gw1
    p = kit.proposal(1, [b.encode()])                # proposal for seq 1
    cert = kit.certify(p)                            # 2f + 1 real commit signatures
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from carbonlab.node import emissions
from carbonlab.node.block import CommitCertificate, Proposal, commit_vote_bytes
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Basis, Batch, ConcUnit, DataFlag, Reading

T0 = 1_700_000_040  # a UTC instant aligned to 60 s
CHAIN_ID = "carbonlab-test"
ROLES = ("power-company", "power-company", "emission-management", "emission-management",
         "verifier", "environmental-protection", "trading-centre")
DEFAULT_GATEWAYS: dict[str, tuple[str, ...]] = {"gw1": ("m1", "m2"), "gw2": ("m3",)}


def seed_for(name: str) -> bytes:
    return hashlib.sha256(f"carbonlab-test-key/{name}".encode()).digest()


def signer_for(name: str) -> Signer:
    return Signer.from_seed(seed_for(name))


def co2_kg_for(co2_pct: float, basis: str, h2o_pct: float, flow_m3_s: float, temp_c: float,
               pressure_kpa: float, interval_s: int) -> float:
    return emissions.co2_mass_kg(co2_pct, basis, h2o_pct, flow_m3_s, temp_c, pressure_kpa,
                                 interval_s)


def with_channels(r: Reading, *, ch4: tuple[float, str, str] | None = None,
                  n2o: tuple[float, str, str] | None = None, gross_mw: float | None = None,
                  heat_mw: float | None = None) -> Reading:
    """`r` with wire-version-2 channels: a gas as (concentration, unit, basis), its mass
    computed correctly; the load and heat input as averages (MW) made interval totals."""
    extra: dict[str, Any] = {}
    for gas, channel in ((emissions.Gas.CH4, ch4), (emissions.Gas.N2O, n2o)):
        if channel is not None:
            conc, unit, basis = channel
            extra.update({f"{gas}_conc": conc, f"{gas}_unit": ConcUnit(unit),
                          f"{gas}_basis": Basis(basis),
                          f"{gas}_kg": emissions.gas_mass_kg(gas, conc, unit, basis, r.h2o_pct,
                                                             r.flow_m3_s, r.temp_c,
                                                             r.pressure_kpa, r.interval_s)})
    if gross_mw is not None:
        extra["gross_mwh"] = gross_mw * r.interval_s / 3600.0
    if heat_mw is not None:
        extra["heat_input_gj"] = heat_mw * r.interval_s / 1000.0
    return replace(r, **extra)


def make_reading(meter_id: str = "m1", seq: int = 1, interval_start: int = T0, *,
                 basis: str = "wet", co2_kg: float | None = None, **values: Any) -> Reading:
    """A plausible reading; `co2_kg` is computed correctly unless given."""
    base: dict[str, Any] = dict(interval_s=60, co2_pct=11.5, o2_pct=6.0, h2o_pct=8.0,
                                flow_m3_s=120.0, temp_c=140.0, pressure_kpa=100.5,
                                valid_samples=60, flag=DataFlag.NORMAL, substituted=False)
    base.update(values)
    if co2_kg is None:
        co2_kg = co2_kg_for(base["co2_pct"], basis, base["h2o_pct"], base["flow_m3_s"],
                            base["temp_c"], base["pressure_kpa"], base["interval_s"])
    return Reading(meter_id=meter_id, seq=seq, interval_start=interval_start,
                   co2_basis=Basis(basis), co2_kg=co2_kg, flag=DataFlag(base.pop("flag")), **base)


@dataclass
class Kit:
    """A genesis plus every private key it names, and counters for producing valid traffic."""

    genesis: Genesis
    members: dict[str, Signer]
    gateways: dict[str, Signer]
    batch_seq: dict[str, int] = field(default_factory=dict)
    reading_seq: dict[str, int] = field(default_factory=dict)

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    def basis_of(self, meter_id: str) -> str:
        return self.genesis.meter_by_id[meter_id].co2_basis

    def batch(self, gateway_id: str, batch_seq: int, readings: Iterable[Reading],
              *, chain_id: str | None = None, signer: Signer | None = None) -> Batch:
        unsigned = Batch(chain_id or self.chain_id, gateway_id, batch_seq, tuple(readings))
        return unsigned.signed(signer or self.gateways[gateway_id])

    def next_readings(self, meter_id: str, count: int = 1) -> list[Reading]:
        """The meter's next `count` valid readings, one interval apart, values varying gently."""
        out = []
        for _ in range(count):
            seq = self.reading_seq.get(meter_id, 0) + 1
            self.reading_seq[meter_id] = seq
            wobble = (seq * 7919 % 101) / 1000.0  # deterministic, well under any spike ratio
            out.append(make_reading(meter_id, seq, T0 + 60 * (seq - 1),
                                    basis=self.basis_of(meter_id), co2_pct=11.0 + wobble,
                                    flow_m3_s=120.0 + 10 * wobble))
        return out

    def next_batch(self, gateway_id: str = "gw1", per_meter: int = 1) -> Batch:
        """The gateway's next valid batch: `per_meter` new readings of each of its meters."""
        seq = self.batch_seq.get(gateway_id, 0) + 1
        self.batch_seq[gateway_id] = seq
        readings: list[Reading] = []
        for meter_id in self.genesis.gateway_by_id[gateway_id].meters:
            readings.extend(self.next_readings(meter_id, per_meter))
        return self.batch(gateway_id, seq, readings)

    def proposal(self, seq: int, requests: Sequence[bytes], *, proposer: str | None = None,
                 timestamp_ms: int | None = None) -> Proposal:
        return Proposal(self.chain_id, seq, T0 * 1000 + seq if timestamp_ms is None else timestamp_ms,
                        proposer or self.genesis.primary_of(0), tuple(requests))

    def certify(self, proposal: Proposal, view: int = 0,
                signers: Sequence[str] | None = None) -> CommitCertificate:
        """A commit certificate with real signatures of `signers` (default: the first 2f + 1)."""
        names = list(signers) if signers is not None else list(self.genesis.member_ids[:self.genesis.quorum])
        message = commit_vote_bytes(self.chain_id, view, proposal.seq, proposal.digest)
        return CommitCertificate(view, proposal.seq, proposal.digest,
                                 tuple((m, self.members[m].sign(message)) for m in names))

    def certified(self, seq: int, requests: Sequence[bytes],
                  view: int = 0) -> tuple[Proposal, CommitCertificate]:
        p = self.proposal(seq, requests)
        return p, self.certify(p, view)


def make_genesis_json(n: int = 4, gateways: Mapping[str, Sequence[str]] | None = None, *,
                      chain_id: str = CHAIN_ID, meters: Mapping[str, Mapping[str, Any]] | None = None,
                      params: Mapping[str, int] | None = None) -> dict[str, Any]:
    gateways = DEFAULT_GATEWAYS if gateways is None else gateways
    meter_ids = sorted({m for ms in gateways.values() for m in ms} | set(meters or {}))
    f = (n - 1) // 3
    return {
        "chain_id": chain_id, "n": n, "f": f, "params": dict(params or {}),
        "members": [{"id": f"n{i}", "organisation": f"org{i}", "role": ROLES[(i - 1) % len(ROLES)],
                     "public_key": signer_for(f"n{i}").public_key.hex(),
                     "p2p_addr": f"/ip4/127.0.0.1/tcp/{4000 + i}"} for i in range(1, n + 1)],
        "gateways": [{"id": g, "public_key": signer_for(g).public_key.hex(), "meters": list(ms)}
                     for g, ms in gateways.items()],
        "meters": [{"id": m, "company": "acme" if k % 2 == 0 else "globex",
                    "plant": f"plant{k // 2 + 1}", "unit": f"unit{k + 1}", "stack": f"stack{k + 1}",
                    **dict((meters or {}).get(m, {}))} for k, m in enumerate(meter_ids)],
    }


def make_kit(n: int = 4, gateways: Mapping[str, Sequence[str]] | None = None, *,
             chain_id: str = CHAIN_ID, meters: Mapping[str, Mapping[str, Any]] | None = None,
             params: Mapping[str, int] | None = None) -> Kit:
    raw = make_genesis_json(n, gateways, chain_id=chain_id, meters=meters, params=params)
    genesis = Genesis.from_json(raw)
    return Kit(genesis, {m: signer_for(m) for m in genesis.member_ids},
               {g.id: signer_for(g.id) for g in genesis.gateways})
