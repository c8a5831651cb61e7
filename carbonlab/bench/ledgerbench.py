"""The ledger's three hot paths on one core: the contract, committing blocks, offline verify.

`measure` builds signed batches and certified blocks in memory first (not timed), then
times, on this process's one core: the contract over every block (`contract.execute`), the
same blocks committed to a fresh ledger with synchronous=FULL (contract, rows, one
transaction and one WAL fsync per block), the same again to a second fresh ledger whose
memories are empty, and `verify_ledger` over the first file. The first commit is the member
whose API received the batches: as in a node, its API's pre-check (timed on its own: the
binary route's decode of each batch, then the contract's stateless checks with the signature
verified) leaves the decoded batch that passed every stateless check (`node.checkedbatches`)
in the ledger's memory, and the contract phase leaves each batch's verified signature
(`node.sigcache`), so that commit runs only the checks that read the state (replay,
intervals, anomalies), rows and SQLite. The second ("first met in the block") is every other
member: it decodes, verifies and checks each batch in full. The offline verify, an auditor's,
verifies every signature. It uses only calls every carbonlab version since the ledger's
first format has (the pre-check hands the contract its decoded batch only where the contract
takes it), so `carbonlab ledger bench --baseline REF` runs this very file against the code of
an older commit in a child process (`python -m carbonlab.bench.ledgerbench`) for the
before-figure of the same run.
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from carbonlab.node.block import CommitCertificate, Proposal, commit_vote_bytes
from carbonlab.node.contract import ContractState, evaluate, execute
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.model import Batch
from carbonlab.node.sim.kit import Kit


@dataclass(frozen=True, slots=True)
class Workload:
    blocks: int
    batches: int       # per block, one per gateway
    readings: int      # per batch

    @property
    def total(self) -> int:
        return self.blocks * self.batches * self.readings


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """Seconds of each phase over the whole workload, wall clock and this process's CPU (on a
    shared machine the CPU seconds are the steadier figure of the work; commit's wall time also
    holds its fsync waits); `verify_ok` from the verify report."""

    contract_s: float
    commit_s: float
    verify_s: float
    contract_cpu_s: float
    commit_cpu_s: float
    verify_cpu_s: float
    verify_ok: bool
    summary: str
    commit_cold_s: float | None = None        # None from code before the second commit phase
    commit_cold_cpu_s: float | None = None
    precheck_s: float | None = None           # None from code before the pre-check's memory
    precheck_cpu_s: float | None = None


def best_of(runs: list[LedgerFigures]) -> LedgerFigures:
    """The fastest of each phase over several runs of the same workload (wall and CPU apart)."""
    seconds = {name: min(getattr(r, name) for r in runs)
               for name in ("contract_s", "commit_s", "verify_s", "contract_cpu_s", "commit_cpu_s",
                            "verify_cpu_s")}
    worst = min(runs, key=lambda r: r.verify_ok)

    def least(name: str) -> float | None:             # a phase some runs' code did not have
        return min((v for r in runs if (v := getattr(r, name)) is not None), default=None)

    return LedgerFigures(**seconds, verify_ok=worst.verify_ok, summary=worst.summary,
                         commit_cold_s=least("commit_cold_s"), commit_cold_cpu_s=least("commit_cold_cpu_s"),
                         precheck_s=least("precheck_s"), precheck_cpu_s=least("precheck_cpu_s"))


def build_blocks(work: Workload) -> tuple[Kit, list[tuple[Proposal, CommitCertificate]]]:
    kit = Kit.build(7, work.batches)
    gateways = [g.id for g in kit.genesis.gateways]
    quorum = kit.genesis.member_ids[:kit.genesis.quorum]
    blocks = []
    for h in range(1, work.blocks + 1):
        proposal = Proposal(kit.genesis.chain_id, h, h, "n1",
                            tuple(kit.next_batch(g, work.readings) for g in gateways))
        vote = commit_vote_bytes(kit.genesis.chain_id, 0, h, proposal.digest)
        blocks.append((proposal, CommitCertificate(0, h, proposal.digest,
                                                   tuple((m, kit.members[m].sign(vote)) for m in quorum))))
    return kit, blocks


def measure(work: Workload, directory: Path) -> LedgerFigures:
    kit, blocks = build_blocks(work)
    state = ContractState()
    path = Path(directory) / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as ledger:
        memory = getattr(ledger, "signatures", None)   # None on code from before the memory
        shared = [memory] if memory is not None else []
        clock = _Clock()
        for proposal, _ in blocks:
            execute(kit.genesis, state, proposal, *shared)
        contract = clock.lap()
        checked = getattr(ledger, "checked", None)     # None on code from before that memory
        precheck: tuple[float | None, float | None] = (None, None)
        if checked is not None:                        # the API's pre-check: timed on its own
            for proposal, _ in blocks:
                for request in proposal.requests:
                    _route_precheck(kit, request, checked)
            precheck = clock.lap()
        clock.lap()
        for proposal, cert in blocks:
            ledger.commit(proposal, cert)
        commit = clock.lap()
    with Ledger.open(Path(directory) / "cold.sqlite", kit.genesis) as cold_ledger:
        clock.lap()
        for proposal, cert in blocks:
            cold_ledger.commit(proposal, cert)
        cold = clock.lap()
    report = verify_ledger(path, kit.genesis)
    verify = clock.lap()
    return LedgerFigures(contract[0], commit[0], verify[0], contract[1], commit[1], verify[1],
                         report.ok, report.summary(), cold[0], cold[1], *precheck)


# the contract takes the batch the API decoded since 2026-12-05 (one decode per batch, not two)
_TAKES_DECODED = "decoded" in inspect.signature(evaluate).parameters


def _route_precheck(kit: Kit, request: bytes, checked: Any) -> None:
    """What the API's binary route does with a batch before ordering it: decode the body, then
    the contract's stateless checks, verifying the signature (the memory is the commit's)."""
    batch = Batch.decode(request)
    if _TAKES_DECODED:
        evaluate(kit.genesis, ContractState(), request, None, checked, batch)
    else:
        evaluate(kit.genesis, ContractState(), request, None, checked)


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def main(argv: list[str]) -> int:
    """Child mode: `python -m carbonlab.bench.ledgerbench BLOCKS BATCHES READINGS` prints JSON."""
    work = Workload(*(int(a) for a in argv))
    with tempfile.TemporaryDirectory(prefix="carbonlab-ledger-bench-") as tmp:
        print(json.dumps(asdict(measure(work, Path(tmp)))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
