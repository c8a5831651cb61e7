"""`carbonlab bench consensus --rate R [--find-knee]`: the cluster under an open-loop load.

In one sitting, on n node processes on 127.0.0.1 (libp2p, PBFT, SQLite, HTTP API):

1. this machine's reference figures (Ed25519 verifies/s on one core, an fsync);
2. light load (100 readings/s): p50 and p99;
3. the offered rate `--rate`, or with `--find-knee` rising by half each phase from it until
   the cluster stops keeping up or p99 passes `--p99-bound`: sustained rate, p50, p99,
   refusals (503) per phase, and the knee (the highest rate within the bound);
4. start-up: a backup is SIGKILLed and restarted under light load; printed: the seconds of
   each start-up step (import, ledger open, replica rebuild, p2p linked, first vote) and the
   process age at its first vote (`carbonlab.bench.startup_split`, from its log);
5. two members down (f = 2): the same search;
6. the Raft peer (`carbonlab.bench.raftpeer`, n processes) up the same ladder of rates, and
   the ratio of carbonlab's knee to the peer's under the same p99 bound.

The load average of the machine is printed beside every phase (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.errors import CarbonlabError

if TYPE_CHECKING:
    from carbonlab.bench.localcluster import GatewayFeed, LocalCluster
    from carbonlab.bench.openloop import OpenLoopPoint

LIGHT_RATE = 100.0
STEP = 1.5
# from --rate 300: up to 25,949 readings/s, past the targets and the Raft peer's own knee (its
# ladder is this one); 8 steps ended at 5,126, where a quick sitting of this VM kept every phase
# within the bound and the "knee" printed was the ladder's top
MAX_STEPS = 12
PEER_MAX_STEPS = 16   # the peer goes on up the same ladder until it fails (131,000 at its top)
MAX_GATEWAYS = 600
PEER_BASE_PORT = 24100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="open loop: offered readings/s (with --find-knee: the first rate; default 1000)")
    parser.add_argument("--find-knee", action="store_true",
                        help="open loop: raise the rate by half per phase until p99 passes --p99-bound")
    parser.add_argument("--p99-bound", type=float, default=1.0, help="p99 bound of the knee, s (default 1)")
    parser.add_argument("--no-peer", action="store_true", help="skip the Raft peer (PySyncObj) run")
    parser.add_argument("--no-two-down", action="store_true", help="skip the phase with two members down")


def check(args: argparse.Namespace) -> None:
    if not 1 <= args.rate <= 1_000_000:
        raise CarbonlabError(f"--rate: must be within 1..1000000 readings/s, got {args.rate}")
    if not 0.05 <= args.p99_bound <= 60:
        raise CarbonlabError(f"--p99-bound: must be within 0.05..60 s, got {args.p99_bound}")


def cluster_gateways(args: argparse.Namespace) -> int:
    from carbonlab.bench.openloop import gateways_for

    top = args.rate * (STEP ** (MAX_STEPS - 1) if args.find_knee else 1)
    return min(MAX_GATEWAYS, gateways_for(top, args.readings))


def run(args: argparse.Namespace) -> int:
    import trio

    from carbonlab.bench.localcluster import LocalCluster
    from carbonlab.bench.reference import Reference

    check(args)
    duration = args.duration or 15.0
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-openloop-") as tmp:
        root = args.keep or Path(tmp) / "cluster"
        reference = Reference.measure(Path(tmp))
        cluster = LocalCluster.create(root, args.nodes, gateways=cluster_gateways(args), meters_per_gateway=1,
                                      ledger_sync=args.ledger_sync)
        cluster.start_all()
        try:
            cluster.wait_ready(timeout_s=180)
            cluster.wait_linked(timeout_s=120)
            result = trio.run(_bench, cluster, args, duration)
        finally:
            cluster.stop()
    result["reference"] = asdict(reference)
    result["load_average_start"] = os.getloadavg()[0]
    if not args.no_peer:
        result["peer"] = run_peer(args.nodes, args.readings, args.rate, duration, args.p99_bound,
                                  args.find_knee)
        result["ratio_to_peer"], result["ratio_to_peer_holds"] = _peer_ratio(result["all_up"], result["peer"])
    if args.json:
        print(json.dumps(result))
    else:
        _print(result, args)
    return 0


async def _bench(cluster: LocalCluster, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    from carbonlab.bench.openloop import offer

    feeds = cluster.feeds()
    members = list(cluster.members)
    out: dict[str, Any] = {"nodes": args.nodes, "readings_per_batch": args.readings,
                           "duration_s": duration, "ledger_sync": args.ledger_sync,
                           "p99_bound_s": args.p99_bound,
                           "ready_s": ready_times(cluster, members)}
    out["light"] = asdict(await offer(cluster, feeds, members, args.readings, LIGHT_RATE, duration))
    out["all_up"] = await _search(cluster, feeds, members, args, duration)
    primary = cluster.status(members[0])
    backups = [m for m in members if m != (primary or {}).get("primary", members[0])]
    out["restart"] = await restart_under_load(cluster, feeds, members, backups[0], args.readings)
    if not args.no_two_down:
        down = backups[-2:]
        for member in down:
            cluster.kill(member)
        alive = [m for m in members if m not in down]
        out["two_down"] = {**await _search(cluster, feeds, alive, args, duration), "killed": down}
    return out


async def _search(cluster: LocalCluster, feeds: list[GatewayFeed], members: list[str],
                  args: argparse.Namespace, duration: float) -> dict[str, Any]:
    from carbonlab.bench.openloop import find_knee, knee, offer, open_ended

    if args.find_knee:
        points = await find_knee(cluster, feeds, members, args.readings, args.rate, duration,
                                 args.p99_bound, STEP, MAX_STEPS)
    else:
        points = [await offer(cluster, feeds, members, args.readings, args.rate, duration)]
    best = knee(points, args.p99_bound)
    return {"points": [asdict(p) for p in points], "knee": asdict(best) if best else None,
            "open_ended": open_ended(points, args.p99_bound)}


def _peer_ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[float | None, str | None]:
    """carbonlab's knee over the peer's, and how far it holds ("=", ">=", "<=", "unknown")."""
    from carbonlab.bench.openloop import knee_ratio

    a, b = ours["knee"], theirs["knee"]
    if not a or not b or not b["readings_per_s"]:
        return None, None
    value, relation = knee_ratio(a["readings_per_s"], ours["open_ended"], b["readings_per_s"],
                                 theirs["open_ended"])
    return round(value, 3), relation.value


async def restart_under_load(cluster: LocalCluster, feeds: list[GatewayFeed], members: list[str],
                             member: str, per_batch: int) -> dict[str, Any]:
    """SIGKILL `member`, start it again while light load runs; its start-up split from its log."""
    import trio

    from carbonlab.bench.openloop import offer
    from carbonlab.bench.startup_split import CPU, read_split

    cluster.kill(member)
    others = [m for m in members if m != member]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(offer, cluster, feeds, others, per_batch, LIGHT_RATE, 12.0)
        await trio.sleep(1.0)
        log = cluster.root / f"{member}.log"
        skip = log.stat().st_size if log.exists() else 0
        cluster.start(member)
        with trio.move_on_after(30):
            while not read_split(log, skip).complete:
                await trio.sleep(0.2)
    return {"member": member, **asdict(read_split(log, skip)), "cpu": asdict(read_split(log, skip, CPU))}


def ready_times(cluster: LocalCluster, members: list[str]) -> dict[str, float]:
    """Each member's seconds from process start to serving, read from its log."""
    from carbonlab.bench.startup_split import read_split

    return {m: t for m in members if (t := read_split(cluster.root / f"{m}.log").serving_s)}


def run_peer(n: int, per_batch: int, first_rate: float, duration: float, p99_bound: float,
             ladder: bool) -> dict[str, Any]:
    """The Raft peer up the same ladder of rates, in a child process; its points and knee."""
    from carbonlab.bench.openloop import knee, open_ended
    from carbonlab.bench.raftpeer import PeerPoint

    rates = [first_rate * STEP ** k for k in range(PEER_MAX_STEPS if ladder else 1)]
    cmd = [sys.executable, "-m", "carbonlab.bench.raftpeer", "--nodes", str(n), "--readings", str(per_batch),
           "--duration", str(duration), "--base-port", str(PEER_BASE_PORT),
           "--rates", ",".join(f"{r:.0f}" for r in rates), "--stop-above-p99", str(p99_bound)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60 + len(rates) * (duration + 20))
    except subprocess.TimeoutExpired:
        return {"error": "the Raft peer did not finish in time", "knee": None, "open_ended": False}
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-500:], "knee": None, "open_ended": False}
    points = [PeerPoint.from_json(json.loads(line)) for line in done.stdout.splitlines()
              if line.startswith("{")]
    phases = [_as_point(p) for p in points]
    best = knee(phases, p99_bound)
    return {"points": [asdict(p) for p in points], "knee": asdict(best) if best else None,
            "open_ended": open_ended(phases, p99_bound) and len(phases) == len(rates),
            "load_average": os.getloadavg()[0]}


def _as_point(p: Any) -> OpenLoopPoint:
    from carbonlab.bench.openloop import OpenLoopPoint

    return OpenLoopPoint(p.offered_readings_per_s, p.readings_per_s, p.p50_s, p.p99_s, 0, 0, 0, 0, 0, 0.0)


def _fmt(p: dict[str, Any]) -> str:
    return (f"offered {p['offered_readings_per_s']:8,.0f}  committed {p['readings_per_s']:8,.0f} readings/s  "
            f"p50 {_s(p['p50_s'])}  p99 {_s(p['p99_s'])}  refused {p.get('refused', 0)}  "
            f"rejected {p.get('rejected', 0)}{_why(p.get('rejected_reasons'))}  failed {p.get('failed', 0)}  "
            + (f"blocks {p['blocks']} ({p['committed'] / p['blocks']:.1f} batches/block)  "
               if p.get("blocks") else "")
            + (f"nodes' CPU {p['nodes_cpu_cores']:.2f} cores  " if p.get("nodes_cpu_cores") else "")
            + (f"(load average {p['load_average']:.1f})" if "load_average" in p else ""))


def _why(reasons: dict[str, int] | None) -> str:
    """` (replay_batch 2)`: why the node rejected what it rejected, when it did."""
    return f" ({', '.join(f'{r} {n}' for r, n in reasons.items())})" if reasons else ""


def knee_said(search: dict[str, Any], latency: bool = True) -> str:
    """A search's knee as printed (`--find-knee`, the peer, the sweep's configurations): a
    ladder that ended within the bound gives a lower bound and says so."""
    k = search["knee"]
    if not k:
        return "none"
    said = f"{k['readings_per_s']:,.0f} readings/s"
    if latency:
        said += f", p50 {_s(k['p50_s'])}, p99 {_s(k['p99_s'])}"
    if search.get("open_ended"):
        return f">= {said} (every phase within the bound: the knee is above the ladder's top)"
    return said


def _s(value: float | None) -> str:
    return "   -   " if value is None else f"{value:6.3f} s"


def _print(r: dict[str, Any], args: argparse.Namespace) -> None:
    from carbonlab.bench.startup_split import StartupSplit

    ref = r["reference"]
    print(f"bench consensus (open loop): {r['nodes']} node processes on 127.0.0.1, "
          f"{r['readings_per_batch']} readings per batch, {r['duration_s']:.0f} s per phase, "
          f"ledger_sync {r['ledger_sync']}, p99 bound {r['p99_bound_s']} s")
    print(f"  this machine, same run: Ed25519 {ref['ed25519_verifies_per_s']:,.0f} verifies/s (one core), "
          f"fsync {ref['fsync_ms']:.2f} ms; load average at start {r['load_average_start']:.1f}")
    ready = r["ready_s"]
    if ready:
        print(f"  start-up (process start to API serving): "
              f"{min(ready.values()):.2f}-{max(ready.values()):.2f} s")
    print(f"  light load: {_fmt(r['light'])}")
    killed = r.get("two_down", {}).get("killed")
    for phase, title in (("all_up", "all members up"), ("two_down", f"two down {killed}")):
        if phase not in r:
            continue
        print(f"  {title}:")
        for p in r[phase]["points"]:
            print(f"    {_fmt(p)}")
        print(f"    knee (highest rate kept with p99 < {r['p99_bound_s']} s): {knee_said(r[phase])}")
    rs = dict(r["restart"])
    member, cpu = rs.pop("member"), rs.pop("cpu")
    print(f"  restart of {member} (SIGKILL, start under light load; seconds of each step):")
    print(f"    wall: {StartupSplit(**rs).line()}")
    print(f"    CPU:  {StartupSplit(**cpu).line('of CPU used by then')}")
    if "peer" in r:
        peer = r["peer"]
        print(f"  Raft peer (PySyncObj, {r['nodes']} processes, same sitting, load average "
              f"{peer.get('load_average', 0):.1f}):")
        for p in peer.get("points", []):
            print(f"    {_fmt(p)}")
        if "error" in peer:
            print(f"    error: {peer['error']}")
        print(f"    knee: {knee_said(peer)}")
        ratio, holds = r.get("ratio_to_peer"), r.get("ratio_to_peer_holds")
        said = {"=": f"{ratio}", ">=": f">= {ratio} (carbonlab's knee is above its ladder)",
                "<=": f"<= {ratio} (the peer's knee is above its ladder)",
                "unknown": f"unknown (both knees are above the ladder; {ratio} of the ladder's tops)"}
        print(f"  ratio carbonlab / Raft peer at p99 < {r['p99_bound_s']} s: "
              + (said[holds] if ratio is not None and holds in said
                 else "none (one of the two kept no rate of the ladder within the bound)"))
