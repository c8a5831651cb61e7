"""Growth: one ledger grown through the real commit path, measured at each size.

Theory of operation. Issue 17 asks whether the ledger's cost per added reading stays flat
from 1 to 10 million readings. `grow` builds one ledger of hourly readings of `stacks`
stacks (the query bench's hierarchy and readings, `queryledger.reading`) in steps (e.g.
100k, 1M, 3M, 10M): every block goes through `Ledger.commit` with synchronous=FULL (the
contract checks every gateway signature and reading, one transaction and one WAL fsync per
block), each block carrying a commit certificate of 2f + 1 real member signatures. Gateways
send 20-reading batches (5 meters x 4 hours), a block holds one batch of every gateway
(4 hours of every stack). Signing 10M readings that way is 500,000 gateway and 125,000
certificate signatures, so worker processes (one per core) build and sign the blocks ahead
while this process commits them; only the time inside `Ledger.commit` is the commit figure.

At each step's size it measures (`StepFigures`): bytes on disk per reading (main file +
WAL) and per table (SQLite's dbstat), the commit rate of the step just grown (wall and CPU),
offline verify of the whole ledger (`verify_ledger`), and the query modules' answers through
`open_source`: a month of one stack hour by hour, a company's year by month, the proof of
one reading (built and checked against genesis), the structure tree of a year.

The grown ledger is kept under `~/.cache/carbonlab/growth/<key>` (`growthledger.code_key`:
SHA-256 of the node package and of the code that builds the blocks, and the stack count), so
a later run continues from the size reached and reuses the figures measured then (printed
as from the cache); `fresh` starts over. A lock file keeps two runs from growing the same ledger.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from carbonlab.bench import growthledger, queryledger
from carbonlab.bench.growthledger import HOURS_PER_BLOCK, METERS_PER_GATEWAY, build_blocks, code_key
from carbonlab.errors import CarbonlabError
from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.proof import check_proof
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source

BLOCKS_PER_TASK = 25           # a worker's unit of work
YEAR0, YEAR_END = queryledger.YEAR0, 1_735_689_600     # 2024
FEBRUARY = 1_706_745_600
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class QueryFigures:
    """Best-of-`repeat` seconds of each query, and how much each answer holds."""

    month_of_one_stack_s: float
    month_rows: int
    company_year_by_month_s: float
    company_year_readings: int
    proof_build_s: float
    proof_check_s: float
    structure_tree_s: float
    structure_readings: int


@dataclass(frozen=True, slots=True)
class StepFigures:
    readings: int
    blocks: int
    file_bytes: int
    wal_bytes: int
    table_bytes: dict[str, int]       # SQLite dbstat: bytes per table and index
    grown_readings: int               # readings committed in this step (by this run or the cached one)
    commit_s: float                   # wall seconds inside Ledger.commit for them
    commit_cpu_s: float
    step_s: float                     # wall seconds of the step, signing workers included
    verify_s: float
    verify_cpu_s: float
    verify_ok: bool
    queries: QueryFigures
    load_average: float               # 1-minute load average when the step's measurements ended
    cached: bool = False              # measured by an earlier run on the same code

    @property
    def bytes_per_reading(self) -> float:
        return (self.file_bytes + self.wal_bytes) / self.readings

    @property
    def commit_us_per_reading(self) -> float:
        return 1e6 * self.commit_s / max(self.grown_readings, 1)

    @property
    def commit_cpu_us_per_reading(self) -> float:
        return 1e6 * self.commit_cpu_s / max(self.grown_readings, 1)

    @property
    def verify_us_per_reading(self) -> float:
        return 1e6 * self.verify_s / self.readings

    @property
    def verify_cpu_us_per_reading(self) -> float:
        return 1e6 * self.verify_cpu_s / self.readings

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StepFigures:
        fields = dict(obj)
        fields["queries"] = QueryFigures(**fields["queries"])
        return cls(**fields)


def parse_sizes(text: str) -> list[int]:
    """`100k,1M,3M,10M` -> readings, increasing; a clear error naming the bad part."""
    sizes = []
    for part in text.split(","):
        word = part.strip()
        scale = {"k": 1_000, "m": 1_000_000}.get(word[-1:].lower(), 1)
        number = word[:-1] if scale > 1 else word
        try:
            value = float(number) * scale
        except ValueError:
            raise CarbonlabError(f"--growth: {word!r} is not a size (e.g. 100k, 1M, 2500)") from None
        if not 1 <= value <= 100_000_000 or value != int(value):
            raise CarbonlabError(f"--growth: {word!r} is not a whole number of readings in 1..100M")
        sizes.append(int(value))
    if sizes != sorted(set(sizes)):
        raise CarbonlabError(f"--growth: sizes must increase ({text!r})")
    return sizes


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carbonlab" / "growth"


def _best(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The best wall time of `repeat` calls (at least one), and the last answer."""
    t0 = time.perf_counter()
    out = fn()
    best = time.perf_counter() - t0
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure_queries(path: Path, genesis: Genesis, height: int, repeat: int) -> QueryFigures:
    stack = genesis.meters[0].id
    company = genesis.meters[0].company
    newest_seq = height * HOURS_PER_BLOCK              # meter s000's reading in the last block
    with open_source(path) as src:
        month_s, month = _best(lambda: src.query(
            EmissionsFilter(meter=stack, since=YEAR0, until=FEBRUARY),
            period=Period.HOUR, level=Level.METER), repeat)
        year_s, year = _best(lambda: src.query(
            EmissionsFilter(company=company, since=YEAR0, until=YEAR_END),
            period=Period.MONTH, level=Level.COMPANY), repeat)
        proof_s, proof = _best(lambda: src.ledger.reading_proof(stack, newest_seq), repeat)
        if proof is None:
            raise CarbonlabError(f"no proof of {stack} seq {newest_seq} in the grown ledger")
        check_s, reading = _best(lambda: check_proof(genesis, proof), repeat)
        if reading.seq != newest_seq:
            raise CarbonlabError(f"the proof of seq {newest_seq} proves seq {reading.seq}")
        tree_s, tree = _best(lambda: src.structure(EmissionsFilter(since=YEAR0, until=YEAR_END),
                                                   GwpSet.AR5), repeat)
    return QueryFigures(month_s, len(month.rows), year_s, sum(r.readings for r in year.rows),
                        proof_s, check_s, tree_s, tree.root.totals.readings)


def disk_bytes(path: Path) -> tuple[int, int, dict[str, int]]:
    wal = Path(f"{path}-wal")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {name: int(size) for name, size in db.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")}
    except sqlite3.OperationalError:        # an SQLite built without dbstat
        tables = {}
    finally:
        db.close()
    return path.stat().st_size, wal.stat().st_size if wal.exists() else 0, tables


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CarbonlabError(f"{directory}: another run is growing this ledger") from None
        yield


def _signed_blocks(stacks: int, first: int, last: int, workers: int
                   ) -> Iterator[tuple[Proposal, CommitCertificate]]:
    """Blocks first..last in order, built by `workers` processes a few tasks ahead."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[list[tuple[Proposal, CommitCertificate]]]] = deque()
        starts = iter(range(first, last + 1, BLOCKS_PER_TASK))

        def submit() -> None:
            start = next(starts, None)
            if start is not None:
                pending.append(pool.submit(build_blocks, stacks, start,
                                           min(BLOCKS_PER_TASK, last + 1 - start)))

        for _ in range(2 * workers):
            submit()
        while pending:
            blocks = pending.popleft().result(timeout=600)
            submit()
            yield from blocks


def grow(sizes: list[int], *, stacks: int = 100, cache: Path | None = None, fresh: bool = False,
         repeat: int = 3, workers: int | None = None,
         report: Callable[[StepFigures], None] = lambda s: None) -> list[StepFigures]:
    """Grow the cached ledger to each size in turn (rounded up to whole blocks), measuring it
    there; `report` is called with each step's figures as soon as they are known."""
    if not 1 <= stacks <= 1000 or stacks % METERS_PER_GATEWAY:
        raise CarbonlabError(f"--stacks: {stacks} is not a multiple of {METERS_PER_GATEWAY} in 1..1000")
    per_block = growthledger.readings_per_block(stacks)
    where = (cache or default_cache()) / code_key(stacks)
    path, state_file = where / "ledger.sqlite", where / "steps.json"
    workers = workers or os.cpu_count() or 1
    genesis = Genesis.from_json(growthledger.genesis_json(stacks))
    out: list[StepFigures] = []
    with _locked(where):
        if fresh:
            for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "steps.json"):
                (where / name).unlink(missing_ok=True)
        known = _known_steps(state_file)
        with Ledger.open(path, genesis) as ledger:
            for size in sizes:
                target = -(-size // per_block)
                height = ledger.height
                if target * per_block in known and height >= target:
                    step = replace_cached(known[target * per_block])
                    out.append(step)
                    report(step)
                    continue
                if height > target:
                    raise CarbonlabError(f"{path} holds {height * per_block:,} readings, past the "
                                         f"{size:,} asked for and not measured there: use --fresh")
                commit_s = commit_cpu = 0.0
                t0 = time.perf_counter()
                for proposal, cert in _signed_blocks(stacks, height + 1, target, workers):
                    w, c = time.perf_counter(), time.process_time()
                    block = ledger.commit(proposal, cert)
                    commit_s += time.perf_counter() - w
                    commit_cpu += time.process_time() - c
                    if not all(v.accepted for v in block.verdicts):
                        bad = next(v for v in block.verdicts if not v.accepted)
                        raise CarbonlabError(f"the bench's own batch was rejected: {bad.detail}")
                step_s = time.perf_counter() - t0
                file_b, wal_b, tables = disk_bytes(path)
                w, c = time.perf_counter(), time.process_time()
                verified = verify_ledger(path, genesis)
                verify_s, verify_cpu = time.perf_counter() - w, time.process_time() - c
                step = StepFigures(target * per_block, target, file_b, wal_b, tables,
                                   (target - height) * per_block, commit_s, commit_cpu, step_s,
                                   verify_s, verify_cpu, verified.ok,
                                   measure_queries(path, genesis, target, repeat), os.getloadavg()[0])
                known[step.readings] = step
                tmp = state_file.with_suffix(".tmp")
                tmp.write_text(json.dumps([s.to_json() for s in sorted(known.values(),
                                                                       key=lambda s: s.readings)]))
                tmp.replace(state_file)
                out.append(step)
                report(step)
    return out


def _known_steps(state_file: Path) -> dict[int, StepFigures]:
    """The figures measured at each size so far (`steps.json`), by readings."""
    if not state_file.exists():
        return {}
    try:
        return {s["readings"]: StepFigures.from_json(s) for s in json.loads(state_file.read_text())}
    except (ValueError, TypeError, KeyError) as exc:
        raise CarbonlabError(f"{state_file}: not the figures this code writes ({exc}): "
                             "use --fresh") from None


def replace_cached(step: StepFigures) -> StepFigures:
    fields = step.to_json()
    fields["cached"] = True
    return StepFigures.from_json(fields)

