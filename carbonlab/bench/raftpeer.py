"""The peer `bench consensus` measures carbonlab against: n PySyncObj (Raft) processes.

Theory of operation. Issue 17 sets carbonlab's consensus beside a peer doing the same
per-batch work on this machine (`/work/shared/anchors/raft_peer_bench.py`, which this module
follows): n PySyncObj processes on 127.0.0.1, every one of which verifies the Ed25519
signature of each batch in its `apply`, the work each consortium member does per batch. The
client (process 0) offers signed batches (64-byte signature + 60 bytes per reading) at a
fixed rate, open loop, and times each from its offer to the commit callback. One cluster
serves several rates in one sitting (`--rates`), each phase drained before the next, so the
bench finds the peer's highest rate under the same p99 bound as carbonlab's and prints the
ratio of the two. Run as `python -m carbonlab.bench.raftpeer`; prints one JSON line per rate.
PySyncObj is imported only here (the `dev` extra installs it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
BYTES_PER_READING = 60
DRAIN_S = 5.0


@dataclass(frozen=True, slots=True)
class PeerPoint:
    """One offered rate of the peer: what committed, and how late."""

    offered_readings_per_s: float
    readings_per_s: float
    p50_s: float | None
    p99_s: float | None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PeerPoint:
        return cls(float(raw["offered_readings_per_s"]), float(raw["readings_per_s"]),
                   raw["p50_s"], raw["p99_s"])


def _ledger_class() -> Any:
    from pysyncobj import SyncObj, SyncObjConf, replicated

    public = KEY.public_key()

    class Ledger(SyncObj):  # type: ignore[misc]
        def __init__(self, me: str, others: list[str]) -> None:
            conf = SyncObjConf(appendEntriesUseBatch=True, commandsQueueSize=200_000,
                               dynamicMembershipChange=False)
            super().__init__(me, others, conf)
            self.count = 0

        @replicated  # type: ignore[untyped-decorator]
        def append(self, payload: bytes) -> int:
            public.verify(payload[:64], payload[64:])
            self.count += 1
            return self.count

    return Ledger


def _follower(me: str, others: list[str], stop: Any) -> None:
    node = _ledger_class()(me, others)
    stop.wait(3600)
    node.destroy()


def _phase(node: Any, payload: bytes, batches_per_s: float, seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []

    def callback_for(offered: float) -> Any:
        def done(_result: object, err: int) -> None:
            if err == 0:
                latencies.append(time.monotonic() - offered)
        return done

    sent, start = 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * batches_per_s)
        while sent < due:
            node.append(payload, callback=callback_for(start + sent / batches_per_s))
            sent += 1
        time.sleep(0.002)
    drain = time.monotonic() + DRAIN_S
    while len(latencies) < sent and time.monotonic() < drain:
        time.sleep(0.05)
    return sent, sorted(latencies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carbonlab.bench.raftpeer")
    parser.add_argument("--nodes", type=int, default=7)
    parser.add_argument("--rates", required=True, help="offered readings/s, comma separated")
    parser.add_argument("--readings", type=int, default=20, help="readings per batch")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--base-port", type=int, default=24100)
    parser.add_argument("--stop-above-p99", type=float, default=0.0,
                        help="stop after the first rate whose p99 exceeds this many seconds")
    args = parser.parse_args(argv)
    addrs = [f"127.0.0.1:{args.base_port + i}" for i in range(args.nodes)]
    stop = mp.Event()
    procs = [mp.Process(target=_follower, args=(a, [b for b in addrs if b != a], stop), daemon=True)
             for a in addrs[1:]]
    for p in procs:
        p.start()
    node = _ledger_class()(addrs[0], addrs[1:])
    try:
        deadline = time.monotonic() + 30
        while node._getLeader() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        body = os.urandom(BYTES_PER_READING * args.readings)
        payload = KEY.sign(body) + body
        _phase(node, payload, 20, 2.0)   # warm-up: connections and the leader settle, not reported
        for rate in (float(r) for r in args.rates.split(",")):
            sent, lat = _phase(node, payload, rate / args.readings, args.duration)

            def pct(q: float, lat: list[float] = lat) -> float | None:
                return round(lat[min(len(lat) - 1, int(len(lat) * q))], 3) if lat else None

            # a batch not committed within the drain counts as late as the drain
            late = lat + [args.duration + DRAIN_S] * (sent - len(lat))
            p99 = pct(0.99, sorted(late))
            print(json.dumps({"offered_readings_per_s": rate, "sent": sent, "committed": len(lat),
                              "readings_per_s": round(args.readings * len(lat) / args.duration),
                              "p50_s": pct(0.5), "p99_s": p99}), flush=True)
            if args.stop_above_p99 and (p99 is None or p99 > args.stop_above_p99):
                break
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=20)
            if p.is_alive():
                p.kill()
        node.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
