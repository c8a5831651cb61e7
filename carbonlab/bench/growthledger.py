"""The growth bench's ledger content: which blocks, signed by whom (see `growth`).

Hourly readings of `stacks` stacks in the query bench's hierarchy (`queryledger.reading`);
gateways of 5 meters send 20-reading batches (5 meters x 4 hours), a block carries one batch
of every gateway, so block h holds hours 4(h - 1)..4h - 1 of every stack, and each block's
commit certificate has 2f + 1 real member signatures. `build_blocks` is deterministic and
runs in worker processes; `code_key` names the grown ledger in the cache by the SHA-256 of
everything that decides its bytes (the node package, this module, the query bench's
readings), so measuring code can change without regrowing a 10M-reading ledger.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import carbonlab.node
from carbonlab.bench import queryledger
from carbonlab.node.block import CommitCertificate, Proposal, commit_vote_bytes
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Batch

METERS_PER_GATEWAY = 5
HOURS_PER_BLOCK = 4            # a batch: 5 meters x 4 hours = 20 readings
YEAR0 = queryledger.YEAR0


def readings_per_block(stacks: int) -> int:
    return stacks * HOURS_PER_BLOCK


def _signer(name: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"carbonlab-bench-growth/{name}".encode()).digest())


def genesis_json(stacks: int) -> dict[str, object]:
    """The query bench's genesis (hierarchy, gases, loads) with 5-meter gateways."""
    obj = queryledger.genesis_json(stacks)
    ids = queryledger.meter_ids(stacks)
    obj["chain_id"] = "carbonlab-bench-growth"
    obj["members"] = [{**m, "public_key": _signer(m["id"]).public_key.hex()}
                      for m in obj["members"]]  # type: ignore[attr-defined]
    obj["gateways"] = [{"id": f"gw{g}", "public_key": _signer(f"gw{g}").public_key.hex(),
                        "meters": ids[i:i + METERS_PER_GATEWAY]}
                       for g, i in enumerate(range(0, stacks, METERS_PER_GATEWAY))]
    return obj


def build_blocks(stacks: int, first_height: int, count: int) -> list[tuple[Proposal, CommitCertificate]]:
    """Blocks `first_height`..`first_height + count - 1`, signed (a worker's task)."""
    genesis = Genesis.from_json(genesis_json(stacks))
    index = {m: i for i, m in enumerate(queryledger.meter_ids(stacks))}
    gateways = {g.id: _signer(g.id) for g in genesis.gateways}
    quorum = [(m, _signer(m)) for m in genesis.member_ids[:genesis.quorum]]
    out = []
    for height in range(first_height, first_height + count):
        h0 = (height - 1) * HOURS_PER_BLOCK
        requests = []
        for g in genesis.gateways:
            readings = tuple(queryledger.reading(index[m], m, h) for m in g.meters
                             for h in range(h0, h0 + HOURS_PER_BLOCK))
            requests.append(Batch(genesis.chain_id, g.id, height, readings).signed(gateways[g.id]).encode())
        proposal = Proposal(genesis.chain_id, height, (YEAR0 + h0 * 3600) * 1000, "n1", tuple(requests))
        vote = commit_vote_bytes(genesis.chain_id, 0, height, proposal.digest)
        out.append((proposal, CommitCertificate(0, height, proposal.digest,
                                                tuple((m, s.sign(vote)) for m, s in quorum))))
    return out


def code_key(stacks: int) -> str:
    digest = hashlib.sha256(f"growth/{stacks}/{METERS_PER_GATEWAY}/{HOURS_PER_BLOCK}".encode())
    root = Path(carbonlab.node.__file__).parent
    for path in [*sorted(root.rglob("*.py")), Path(__file__), Path(queryledger.__file__)]:
        digest.update(path.as_posix().rsplit("carbonlab/", 1)[-1].encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
