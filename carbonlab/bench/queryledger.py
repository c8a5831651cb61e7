"""The query benchmark's ledger: a year of hourly readings of 100 stacks, committed for real.

Every reading goes through the same path as on a node: gateways sign batches with real
Ed25519 keys, blocks carry commit certificates of 2f + 1 real member signatures, and
`Ledger.commit` runs the contract over every batch and writes the block, the readings and
the day table in one transaction. The hierarchy: 4 companies x 5 plants x 5 units, one
stack (meter) per unit; every meter reports CO2 and the unit's gross output and heat input,
every fourth meter also CH4 (ppm, dry). Ten gateways, ten meters each; a batch carries 100
hours of its ten meters (1,000 readings), a block one batch of each gateway.

A built file is cached under the temp directory, keyed by the SHA-256 of the node
package's source and the parameters, so a code change always rebuilds it; entries unused for
a day are removed (about 270 MB each).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import carbonlab.node
from carbonlab.errors import CarbonlabError
from carbonlab.node import emissions
from carbonlab.node.block import CommitCertificate, Proposal, commit_vote_bytes
from carbonlab.node.crypto import Signer
from carbonlab.node.emissions import ConcUnit
from carbonlab.node.genesis import ROLES, Genesis
from carbonlab.node.ledger import Ledger
from carbonlab.node.model import Basis, Batch, DataFlag, Reading

YEAR0 = 1_704_067_200          # 2024-01-01 00:00 UTC
HOUR = 3600
COMPANIES, PLANTS, UNITS = 4, 5, 5
GATEWAYS = 10
HOURS_PER_BATCH = 100


@dataclass(frozen=True, slots=True)
class Built:
    path: Path
    genesis: Genesis
    readings: int
    build_s: float | None        # None: taken from the cache
    cache_key: str


def _signer(name: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"carbonlab-bench-query/{name}".encode()).digest())


def meter_ids(stacks: int) -> list[str]:
    return [f"s{i:03d}" for i in range(stacks)]


def genesis_json(stacks: int) -> dict[str, object]:
    meters = []
    for i, mid in enumerate(meter_ids(stacks)):
        c, p, u = i // (PLANTS * UNITS) % COMPANIES, i // UNITS % PLANTS, i % UNITS
        meter: dict[str, object] = {
            "id": mid, "company": f"company{c + 1}", "plant": f"c{c + 1}-plant{p + 1}",
            "unit": f"c{c + 1}p{p + 1}-unit{u + 1}", "stack": f"{mid}-stack",
            "load": {"gross_mw": [0.0, 1000.0], "heat_input_mw": [0.0, 2500.0]}}
        if i % 4 == 0:
            meter["gases"] = {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 500.0]}}
        meters.append(meter)
    ids = meter_ids(stacks)
    per = math.ceil(stacks / GATEWAYS)
    return {
        "chain_id": "carbonlab-bench-query", "n": 7, "f": 2,
        "params": {"reading_interval_s": HOUR, "max_block_batches": 64},
        "members": [{"id": f"n{i}", "organisation": f"org{i}", "role": ROLES[(i - 1) % len(ROLES)],
                     "public_key": _signer(f"n{i}").public_key.hex()} for i in range(1, 8)],
        "gateways": [{"id": f"gw{g}", "public_key": _signer(f"gw{g}").public_key.hex(),
                      "meters": ids[g * per:(g + 1) * per]}
                     for g in range(GATEWAYS) if ids[g * per:(g + 1) * per]],
        "meters": meters,
    }


def reading(meter_index: int, meter_id: str, hour: int) -> Reading:
    """A deterministic plausible hour: load follows the time of day and the season."""
    t = YEAR0 + hour * HOUR
    day = math.sin(2 * math.pi * ((hour % 24) - 6) / 24)
    season = math.cos(2 * math.pi * hour / 8760)
    load = 0.65 + 0.2 * day + 0.1 * season + 0.02 * ((meter_index * 7919 + hour * 104729) % 11 - 5) / 5
    co2_pct, flow = 9.0 + 3.0 * load, 150.0 + 450.0 * load
    substituted = (hour + meter_index) % 97 == 0    # about 1 %, flagged with why (no data link)
    r = Reading(meter_id, hour + 1, t, HOUR, co2_pct, Basis.WET, 6.0, 8.0, flow, 140.0, 100.5,
                HOUR, DataFlag.COMM_FAULT if substituted else DataFlag.NORMAL,
                emissions.co2_mass_kg(co2_pct, "wet", 8.0, flow, 140.0, 100.5, HOUR),
                substituted=substituted)
    gross_mw = 200.0 + 400.0 * load
    r = replace(r, gross_mwh=gross_mw, heat_input_gj=gross_mw * 2.4 * HOUR / 1000.0)
    if meter_index % 4 == 0:
        ch4 = 3.0 + 2.0 * load
        r = replace(r, ch4_conc=ch4, ch4_unit=ConcUnit.PPM, ch4_basis=Basis.DRY,
                    ch4_kg=emissions.gas_mass_kg(emissions.Gas.CH4, ch4, "ppm", "dry", 8.0, flow,
                                                 140.0, 100.5, HOUR))
    return r


def code_key(stacks: int, hours: int) -> str:
    digest = hashlib.sha256(f"{stacks}/{hours}".encode())
    root = Path(carbonlab.node.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(path: Path, stacks: int, hours: int) -> tuple[Genesis, int]:
    genesis = Genesis.from_json(genesis_json(stacks))
    members = {m: _signer(m) for m in genesis.member_ids}
    quorum = genesis.member_ids[:genesis.quorum]
    index = {m: i for i, m in enumerate(meter_ids(stacks))}
    count = 0
    with Ledger.open(path, genesis) as ledger:
        ledger.set_sync("normal")   # a benchmark fixture: durability per block is not measured here
        for height, h0 in enumerate(range(0, hours, HOURS_PER_BATCH), start=1):
            requests = []
            for g in genesis.gateways:
                readings = tuple(reading(index[m], m, h) for m in g.meters
                                 for h in range(h0, min(hours, h0 + HOURS_PER_BATCH)))
                batch = Batch(genesis.chain_id, g.id, height, readings).signed(_signer(g.id))
                requests.append(batch.encode())
                count += len(readings)
            proposal = Proposal(genesis.chain_id, height, (YEAR0 + h0 * HOUR) * 1000, "n1",
                                tuple(requests))
            vote = commit_vote_bytes(genesis.chain_id, 0, height, proposal.digest)
            cert = CommitCertificate(0, height, proposal.digest,
                                     tuple((m, members[m].sign(vote)) for m in quorum))
            block = ledger.commit(proposal, cert)
            rejected = [v for v in block.verdicts if not v.accepted]
            if rejected:
                raise CarbonlabError(f"the bench's own batch was rejected: {rejected[0].detail}")
    return genesis, count


def built(stacks: int = 100, hours: int = 8760, *, fresh: bool = False) -> Built:
    """The ledger file, from the cache when this code built it before.

    The cache directory is shared by everyone on the machine (other checkouts may run other
    code versions at the same time): a build goes to a directory of its own and is renamed
    into place when complete, and only entries untouched for a day are removed."""
    key = code_key(stacks, hours)
    cache = Path(tempfile.gettempdir()) / "carbonlab-bench-query"
    where = cache / key
    path, done = where / "ledger.sqlite", where / "done.json"
    if done.is_file() and path.is_file() and not fresh:
        os.utime(where)
        with Ledger.open_readonly(path) as cached:
            return Built(path, cached.genesis, json.loads(done.read_text())["readings"], None, key)
    cache.mkdir(parents=True, exist_ok=True)
    for other in cache.iterdir():      # about 270 MB each; a day unused: another code version's
        if other.is_dir() and time.time() - other.stat().st_mtime > 86_400:
            shutil.rmtree(other, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key}.build-", dir=cache))
    try:
        t0 = time.perf_counter()
        genesis, count = build(work / "ledger.sqlite", stacks, hours)
        seconds = time.perf_counter() - t0
        (work / "done.json").write_text(json.dumps({"readings": count, "build_s": seconds}))
        if where.exists():
            shutil.rmtree(where, ignore_errors=True)
        work.rename(where)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Built(path, genesis, count, seconds, key)
