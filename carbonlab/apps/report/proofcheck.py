"""The bundle's proofs checked with genesis alone (`verify.py`'s steps 2 and 3, see there), block by
block, in one process or (`workers`, `report verify --workers N`) in up to `MAX_WORKERS`.

One process is the default: on this 2-core machine under other suites' load, two workers took
23.7 s where one took 17.8 s (the forked workers' copy-on-write pages of the parsed bundle and
the cores' contention cost more than they save); on an idle machine with free cores they help.

Each worker (forked, so the parsed bundle is shared, not copied) checks a contiguous range of
blocks and returns its findings, the keys of the readings it proved and their meter-month cells;
the parent merges them in block order, so the findings read the same as a serial run's, and
names a reading proven in two ranges.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import msgpack

from carbonlab.apps.report import cells
from carbonlab.apps.report.findings import Kind, Problem, Verified
from carbonlab.apps.report.model import Cell, ReportError
from carbonlab.node import codec, merkle
from carbonlab.node.block import BlockHeader
from carbonlab.node.contract import reading_problem
from carbonlab.node.crypto import verify as verify_signature
from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger.render import U64_MAX, certificate_from_json, header_from_json
from carbonlab.node.model import Batch, Reading
from carbonlab.node.schema import as_dict, as_hex, as_int, as_list, as_str

MAX_WORKERS = 4
MIN_BLOCKS_PER_WORKER = 16
TIMEOUT_S = 900.0


@dataclass(frozen=True, slots=True)
class Scope:
    """What the proven readings must belong to."""

    genesis: Genesis
    meters: frozenset[str]
    year: int
    since: int
    until: int


@dataclass(frozen=True, slots=True)
class Part:
    problems: tuple[Problem, ...]
    blocks: int
    batches: int
    proven: tuple[cells.Proven | Reading, ...]


_SHARED: tuple[Scope, list[Any]] | None = None


def _check_range(lo: int, hi: int, compact: bool = True) -> Part:
    """Blocks lo..hi-1; `compact`: the proven readings as `Proven` tuples (cheap to send back
    from a worker), else the readings themselves (one process: no copy needed)."""
    assert _SHARED is not None
    scope, blocks = _SHARED
    res = Verified()
    seen: set[tuple[str, int]] = set()
    proven: list[Reading] = []
    for i in range(lo, hi):
        try:
            _check_block(scope.genesis, i, blocks[i], scope.meters, scope.since, scope.until, seen,
                         proven, res)
        except SchemaError as exc:
            res.add(Kind.PROOF, f"proofs.blocks[{i}]", f"malformed: {exc}")
    if not compact:
        return Part(tuple(res.problems), res.blocks, res.batches, tuple(proven))
    return Part(tuple(res.problems), res.blocks, res.batches,
                tuple(cells.Proven(r.meter_id, r.seq, r.interval_start, r.co2_kg, r.ch4_kg, r.n2o_kg,
                                   r.gross_mwh, r.heat_input_gj, r.substituted) for r in proven))


def check_blocks(scope: Scope, blocks: list[Any], res: Verified,
                 workers: int | None = None) -> tuple[Cell, ...]:
    """Check every block into `res`; return the meter-month cells of the proven readings."""
    global _SHARED
    n = workers if workers is not None else min(os.cpu_count() or 1, MAX_WORKERS,
                                                max(1, len(blocks) // MIN_BLOCKS_PER_WORKER))
    n = max(1, min(n, MAX_WORKERS, len(blocks) or 1))
    bounds = [len(blocks) * k // n for k in range(n + 1)]
    _SHARED = (scope, blocks)
    try:
        if n == 1:
            parts = [_check_range(0, len(blocks), compact=False)]
        else:
            with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [pool.submit(_check_range, lo, hi) for lo, hi in pairwise(bounds)]
                try:
                    parts = [f.result(timeout=TIMEOUT_S) for f in futures]
                except TimeoutError:
                    raise ReportError("proofs.json", f"checking took over {TIMEOUT_S:.0f} s") from None
    finally:
        _SHARED = None
    seen: set[tuple[str, int]] = set()
    proven: list[cells.Proven | Reading] = []
    for part in parts:
        for p in part.problems:
            res.add(p.kind, p.where, p.detail)
        for r in part.proven:
            if (r.meter_id, r.seq) in seen:      # proven in an earlier range: a later block's
                res.add(Kind.READING, f"{r.meter_id}/{r.seq}", "used twice")
                continue
            seen.add((r.meter_id, r.seq))
            proven.append(r)
        res.blocks += part.blocks
        res.batches += part.batches
    res.readings = len(proven)
    return cells.from_readings(proven, scope.meters, scope.year, scope.genesis.params.reading_interval_s)


def _check_block(genesis: Genesis, i: int, block: Any, meters: frozenset[str], since: int, until: int,
                 seen: set[tuple[str, int]], proven: list[Reading], res: Verified) -> None:
    b = as_dict(block, f"proofs.blocks[{i}]")
    res.blocks += 1
    header = certified_header(genesis, b, f"proofs.blocks[{i}]", res)
    if header is None:
        return
    where = f"block {header.height}"
    for j, raw in enumerate(as_list(b.get("batches"), f"{where}.batches")):
        _check_batch(genesis, header.height, header.batch_count, header.batches_root, j, raw, meters,
                     since, until, seen, proven, res)


def certified_header(genesis: Genesis, b: dict[str, Any], path: str, res: Verified) -> BlockHeader | None:
    """The block header of `b` ("header", "certificate") when its fields reproduce its proposal
    digest and its commit certificate holds 2f + 1 valid genesis member signatures over it; else
    None, the problem named in `res` (`signature block 2 certificate: 4 signatures, 5 needed`)."""
    header = header_from_json(b.get("header"), f"{path}.header")
    cert = certificate_from_json(b.get("certificate"), f"{path}.certificate")
    where = f"block {header.height}"
    if header.chain_id != genesis.chain_id or not header.proposal_digest_matches():
        res.add(Kind.PROOF, where, "header fields do not reproduce its proposal_digest")
        return None
    wrong = cert.mismatch(header.height, header.proposal_digest, f"{where}'s")
    bad = wrong or cert.check(genesis.chain_id, genesis.member_keys, genesis.quorum)
    if bad is not None:
        res.add(Kind.SIGNATURE, f"{where} certificate", bad)
        return None
    return header


def _check_batch(genesis: Genesis, height: int, count: int, root: bytes, j: int, raw: Any,
                 meters: frozenset[str], since: int, until: int, seen: set[tuple[str, int]],
                 proven: list[Reading], res: Verified) -> None:
    at = f"block {height} batch {j}"
    e = as_dict(raw, at)
    gateway_id = as_str(e.get("gateway_id"), f"{at}.gateway_id")
    seq = as_int(e.get("batch_seq"), f"{at}.batch_seq", lo=0, hi=U64_MAX)
    at = f"block {height} batch {gateway_id}/{seq}"
    res.batches += 1
    signature = as_hex(e.get("signature"), f"{at}.signature", size=64)
    try:
        leaves = [bytes.fromhex(x) for x in as_list(e.get("readings"), f"{at}.readings")]
        hashes = [bytes.fromhex(x) for x in as_list(e.get("leaf_hashes"), f"{at}.leaf_hashes")]
    except (TypeError, ValueError):
        res.add(Kind.PROOF, at, "readings and leaf_hashes must be lists of hex strings")
        return
    used = [as_int(x, f"{at}.used[{k}]", lo=0) for k, x in enumerate(as_list(e.get("used"), at))]
    if len(hashes) != len(leaves) or any(len(h) != 32 for h in hashes):
        res.add(Kind.PROOF, at, f"{len(leaves)} readings need as many 32-byte leaf hashes")
        return
    gateway = genesis.gateway_by_id.get(gateway_id)
    if gateway is None:
        res.add(Kind.SIGNATURE, at, f"gateway {gateway_id!r} is not in genesis")
        return
    readings_root = _root_of_leaf_hashes(hashes)
    header = ["carbonlab/batch/1", genesis.chain_id, gateway_id, seq, len(leaves), readings_root]
    if not verify_signature(gateway.public_key, signature, codec.encode(header)):
        res.add(Kind.SIGNATURE, at, f"the gateway signature does not verify under {gateway_id!r}'s "
                                    "genesis key over the batch's readings root")
        return
    sha = hashlib.sha256
    changed = [k for k, leaf in enumerate(leaves) if sha(b"\x00" + leaf).digest() != hashes[k]]
    for k in changed:
        res.add(Kind.READING, _reading_name(leaves[k], f"{at} reading {k}"),
                f"changed: it is not the reading the gateway signed ({at}, leaf {k})")
    if changed:
        return
    raw = _batch_bytes(genesis.chain_id, gateway_id, seq, leaves, signature)
    path = [as_hex(h, f"{at}.path", size=32) for h in as_list(e.get("path"), f"{at}.path")]
    if not merkle.verify(raw, as_int(e.get("index"), f"{at}.index", lo=0), count, path, root):
        res.add(Kind.PROOF, at, f"not a batch of block {height} (Merkle path to batches_root fails)")
        return
    try:
        readings = Batch.decode(raw).readings
    except SchemaError as exc:
        res.add(Kind.PROOF, at, f"does not decode: {exc}")
        return
    wanted = set(used)
    for k in used:
        if k >= len(readings):
            res.add(Kind.READING, f"{at} reading {k}", "used but not in the batch")
            continue
        r = readings[k]
        name = f"{r.meter_id}/{r.seq}"
        if r.meter_id not in meters or not since <= r.interval_start < until:
            res.add(Kind.READING, name, "not a reading of the report's company and year")
            continue
        if (r.meter_id, r.seq) in seen:
            res.add(Kind.READING, name, "used twice")
            continue
        found = reading_problem(genesis, gateway_id, r)
        if found is not None:
            res.add(Kind.READING, name, f"fails the contract ({found[0].value}): {found[1]}")
            continue
        seen.add((r.meter_id, r.seq))
        proven.append(r)
    for k, r in enumerate(readings):
        if k not in wanted and r.meter_id in meters and since <= r.interval_start < until:
            res.add(Kind.READING, f"{r.meter_id}/{r.seq}", f"a reading of the company-year in {at} "
                                                           "that the report leaves out")


def _reading_name(leaf: bytes, fallback: str) -> str:
    try:
        r = Reading.from_wire(codec.decode(leaf, "reading"))
    except SchemaError:
        return fallback
    return f"{r.meter_id}/{r.seq}"


def _batch_bytes(chain_id: str, gateway_id: str, seq: int, leaves: list[bytes], signature: bytes) -> bytes:
    """`Batch.encode()` of the batch, from its readings' canonical bytes without decoding them: a
    msgpack array's bytes are its header and its items' bytes (the Merkle path to the certified
    batches_root then checks the result)."""
    p = msgpack.Packer(use_bin_type=True, use_single_float=False, strict_types=False)
    return b"".join((p.pack_array_header(5), p.pack(chain_id), p.pack(gateway_id), p.pack(seq),
                     p.pack_array_header(len(leaves)), *leaves, p.pack(signature)))


def _root_of_leaf_hashes(hashes: list[bytes]) -> bytes:
    """The batch tree's root from its leaf hashes (`carbonlab.node.merkle.root` after hashing)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    level = hashes
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
