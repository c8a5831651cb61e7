"""`carbonlab bench core --nodes 7`: the consensus core's ceiling, with no network.

N replicas run in one process; their messages are delivered in-process (FIFO), each
replica has its own real SQLite `Ledger` in a temporary directory (records persisted,
blocks committed with the contract, as the node's driver does), and readings arrive
in gateway batches signed beforehand with real keys. Printed: readings per second
committed on every replica (contract, hashing, signatures and SQLite included), and
this machine's Ed25519 verify rate measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError
from carbonlab.node.crypto import Signer, verify
from carbonlab.node.genesis import Params
from carbonlab.node.ledger import Ledger
from carbonlab.node.pbft import Action, Execute, Persist, Replica, Send, ServeBlocks
from carbonlab.node.sim.kit import Kit


def register(sub: Any) -> None:
    parser = sub.add_parser("core", help="PBFT + contract + SQLite, n replicas in one process")
    parser.add_argument("--nodes", type=int, default=7, help="n = 3f + 1 replicas (default 7)")
    parser.add_argument("--gateways", type=int, default=200, help="gateways, one meter each (default 200)")
    parser.add_argument("--batches", type=int, default=1000, help="signed batches to commit (default 1000)")
    parser.add_argument("--readings", type=int, default=20, help="readings per batch (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def verify_rate(seconds: float = 1.0) -> float:
    signer = Signer.generate()
    message = b"carbonlab bench core: verify rate" * 4
    sig = signer.sign(message)
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            verify(signer.public_key, sig, message)
        count += 200
    return count / elapsed


class Bench:
    def __init__(self, kit: Kit, directory: Path) -> None:
        self.kit = kit
        self.ids = kit.genesis.member_ids
        self.ledgers = {m: Ledger.open(directory / f"{m}.sqlite", kit.genesis) for m in self.ids}
        self.replicas = {m: Replica(kit.genesis, m, kit.members[m]) for m in self.ids}
        self.queue: deque[tuple[str, bytes]] = deque()
        self.now_ms = 0

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()

    def handle(self, member: str, actions: list[Action]) -> None:
        ledger = self.ledgers[member]
        for a in actions:          # driver rule: persist and execute before sending
            if isinstance(a, Persist):
                ledger.save_consensus_record(a.record)
            elif isinstance(a, Execute):
                ledger.commit(a.proposal, a.certificate)
        for a in actions:
            if isinstance(a, ServeBlocks):
                blocks = [(b.proposal, b.certificate) for b in ledger.blocks(a.from_seq, a.to_seq)]
                a = self.replicas[member].blocks_reply(a.to, blocks)
            if isinstance(a, Send):
                for to in (self.ids if a.to is None else (a.to,)):
                    if to != member:
                        self.queue.append((to, a.data))

    def pump(self) -> None:
        while self.queue:
            to, data = self.queue.popleft()
            self.handle(to, self.replicas[to].receive(data, self.now_ms))

    def run(self, batches: list[bytes]) -> float:
        primary = self.kit.genesis.primary_of(0)
        target = self.ledgers[primary]
        started = time.perf_counter()
        for data in batches:
            self.handle(primary, self.replicas[primary].submit(data, self.now_ms))
            self.pump()
        while min(ledger.height for ledger in self.ledgers.values()) < target.height or \
                self.replicas[primary].requests.queue:
            self.now_ms += 50
            for m in self.ids:
                self.handle(m, self.replicas[m].tick(self.now_ms))
            self.pump()
        return time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    if args.nodes < 4 or (args.nodes - 1) % 3:
        raise CarbonlabError(f"--nodes: must be 3f + 1 with f >= 1 (4, 7, 10, ...), got {args.nodes}")
    for name in ("gateways", "batches", "readings"):
        if getattr(args, name) < 1:
            raise CarbonlabError(f"--{name}: must be at least 1, got {getattr(args, name)}")
    params = asdict(Params())
    params["request_timeout_ms"] = 600_000      # no view change while the benchmark runs
    kit = Kit.build(args.nodes, args.gateways, params)
    batches = [kit.next_batch(f"gw{1 + i % args.gateways}", args.readings) for i in range(args.batches)]
    rate = verify_rate()
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-core-") as tmp:
        bench = Bench(kit, Path(tmp))
        try:
            seconds = bench.run(batches)
            heights = {m: ledger.height for m, ledger in bench.ledgers.items()}
            readings = {m: ledger.reading_count() for m, ledger in bench.ledgers.items()}
        finally:
            bench.close()
    committed = min(readings.values())
    if committed != args.batches * args.readings:
        raise CarbonlabError(f"bench core: only {committed} of {args.batches * args.readings} "
                             f"readings committed on every replica ({readings})")
    result = {"nodes": args.nodes, "batches": args.batches, "readings_per_batch": args.readings,
              "blocks": min(heights.values()), "seconds": round(seconds, 3),
              "readings_per_s": round(committed / seconds, 1),
              "batches_per_s": round(args.batches / seconds, 1),
              "ed25519_verify_per_s": round(rate, 1)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bench core: n={args.nodes}, {args.batches} signed batches x {args.readings} readings, "
              f"{result['blocks']} blocks, every replica with its own SQLite ledger")
        print(f"  committed on all replicas: {result['readings_per_s']:.0f} readings/s "
              f"({result['batches_per_s']:.0f} batches/s, {seconds:.2f} s)")
        print(f"  Ed25519 verify on this machine, same run: {rate:.0f} verifies/s")
    return 0
