"""`carbonlab bench consensus`: the real cluster, end to end.

Open loop (the default: `bench_openloop`): batches offered at a fixed rate, `--find-knee`,
the Raft peer in the same sitting. `--sweep` (`bench_sweep`): the knee search for n = 4, 7,
10, 13 and 1, 20, 200 readings per batch, printed and plotted.

`--closed-loop --nodes 7 --duration 60` (this module) starts n node processes on 127.0.0.1
(libp2p, PBFT, SQLite, HTTP API), then:

1. all nodes up: bench gateways (one batch in flight each) are added in steps so
   the offered rate rises; printed per step and for the full load: readings/s
   committed, p50/p99 latency from first POST to commit, CPU per node;
2. view change: under light load the primary is SIGKILLed; printed: time until
   every survivor has installed the new view, and until the next commit;
3. the primary and one more node down (f = 2): the same load as in 1;
4. `carbonlab bench core` in the same run, for the ratio real/core.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.errors import CarbonlabError

if TYPE_CHECKING:   # libp2p, trio and httpx load only when the bench runs (`--help` stays fast)
    import httpx

    from carbonlab.bench.localcluster import GatewayFeed, LocalCluster


def register(sub: Any) -> None:
    from carbonlab.cli import bench_openloop, bench_sweep

    parser = sub.add_parser("consensus", help="n node processes on this machine, signed batches, rising rate")
    parser.add_argument("--nodes", type=int, default=7, help="n = 3f + 1 node processes (default 7)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per load phase (default 15 open loop, 60 closed loop, 8 sweep)")
    parser.add_argument("--closed-loop", action="store_true",
                        help="each gateway waits for its commit before its next batch (the older bench)")
    bench_openloop.add_arguments(parser)
    bench_sweep.add_arguments(parser)
    parser.add_argument("--gateways", type=int, default=96,
                        help="closed loop: bench gateways at full load (default 96)")
    parser.add_argument("--readings", type=int, default=20, help="readings per batch (default 20)")
    parser.add_argument("--steps", type=int, default=4, help="rate steps per phase (default 4)")
    parser.add_argument("--core-batches", type=int, default=400, help="batches for the bench core run")
    parser.add_argument("--ledger-sync", choices=("full", "normal"), default="full",
                        help="NODE.toml ledger_sync of every node (default full)")
    parser.add_argument("--keep", type=Path, help="keep the cluster (keys, logs, ledgers) in this directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from carbonlab.cli import bench_openloop, bench_sweep

    if args.sweep:
        return bench_sweep.run(args)
    if args.nodes < 4 or (args.nodes - 1) % 3:
        raise CarbonlabError(f"--nodes: must be 3f + 1 with f >= 1 (4, 7, 10, ...), got {args.nodes}")
    if not 1 <= args.readings <= 10_000:
        raise CarbonlabError(f"--readings: must be within 1..10000, got {args.readings}")
    if args.duration is not None and not 3 <= args.duration <= 3600:
        raise CarbonlabError(f"--duration: must be within 3..3600 s, got {args.duration}")
    if not args.closed_loop:
        return bench_openloop.run(args)
    args.duration = args.duration or 60.0
    return run_closed(args)


def run_closed(args: argparse.Namespace) -> int:
    import trio

    from carbonlab.bench.localcluster import LocalCluster

    for name in ("gateways", "readings", "steps", "core_batches"):
        if getattr(args, name) < 1:
            raise CarbonlabError(f"--{name.replace('_', '-')}: must be at least 1")
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-consensus-") as tmp:
        root = args.keep or Path(tmp) / "cluster"
        cluster = LocalCluster.create(root, args.nodes, gateways=args.gateways, meters_per_gateway=1,
                                      ledger_sync=args.ledger_sync)
        cluster.start_all()
        try:
            cluster.wait_ready(timeout_s=180)
            result = trio.run(_bench, cluster, args)
        finally:
            cluster.stop()
    result["core"] = _core(args)
    core_rate = result["core"].get("readings_per_s") or 0
    for phase in ("all_up", "two_down"):
        result[phase]["ratio_to_core"] = (round(result[phase]["sustained"]["readings_per_s"] / core_rate, 3)
                                          if core_rate else None)
    if args.json:
        print(json.dumps(result))
    else:
        _print(result)
    return 0


async def _bench(cluster: LocalCluster, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    feeds = cluster.feeds()
    members = list(cluster.members)
    limits = httpx.Limits(max_connections=4 * args.gateways, max_keepalive_connections=4 * args.gateways)
    async with httpx.AsyncClient(limits=limits) as client:
        out: dict[str, Any] = {"nodes": args.nodes, "gateways": args.gateways,
                               "ledger_sync": args.ledger_sync, "readings_per_batch": args.readings,
                               "duration_s": args.duration}
        out["all_up"] = await _phase(cluster, feeds, members, args)
        view_change, killed = await _view_change(client, cluster, feeds[: max(4, args.gateways // 8)],
                                                 members, args)
        out["view_change"] = view_change
        alive = [m for m in members if m != killed]
        second = alive[-1] if alive[-1] != view_change.get("new_primary") else alive[-2]
        cluster.kill(second)
        alive.remove(second)
        out["two_down"] = await _phase(cluster, feeds, alive, args)
        out["two_down"]["killed"] = [killed, second]
        return out


async def _phase(cluster: LocalCluster, feeds: list[GatewayFeed], members: list[str],
                 args: argparse.Namespace) -> dict[str, Any]:
    import trio

    from carbonlab.bench.benchload import LoadResult, cpu_seconds, gateway_loop, summarize

    result = LoadResult()
    stop = trio.Event()
    step_s = args.duration / args.steps
    pids = {m: cluster.procs[m].pid for m in members}
    cpu0 = {m: cpu_seconds(pid) for m, pid in pids.items()}
    t0 = time.monotonic()
    client_cpu0 = time.process_time()
    active = 0
    async with trio.open_nursery() as nursery:
        for k in range(args.steps):
            target = math.ceil(args.gateways * (k + 1) / args.steps)
            for i in range(active, target):
                spread = members[i % len(members):] + members[: i % len(members)]
                nursery.start_soon(gateway_loop, cluster, feeds[i], spread, args.readings, result, stop)
            active = target
            await trio.sleep(step_s)
        stop.set()
        nursery.cancel_scope.deadline = trio.current_time() + 5
    wall = time.monotonic() - t0
    steps = []
    for k in range(args.steps):
        lo = t0 + k * step_s
        stats = summarize(result.window(lo, lo + step_s), step_s)
        steps.append({"gateways": math.ceil(args.gateways * (k + 1) / args.steps), **_rounded(stats)})
    full = summarize(result.window(t0 + (args.steps - 1) * step_s, t0 + args.duration), step_s)
    return {"members": members, "steps": steps, "sustained": _rounded(full),
            "failures": result.failures,
            "bench_client_cpu_percent": round(100 * (time.process_time() - client_cpu0) / wall, 1),
            "cpu_percent": {m: round(100 * (cpu_seconds(pid) - cpu0[m]) / wall, 1)
                            for m, pid in pids.items()}}


async def _view_change(client: httpx.AsyncClient, cluster: LocalCluster, feeds: list[GatewayFeed],
                       members: list[str], args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import httpx
    import trio

    from carbonlab.bench.benchload import LoadResult, gateway_loop

    result = LoadResult()
    stop = trio.Event()
    out: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        for i, feed in enumerate(feeds):
            spread = members[i % len(members):] + members[: i % len(members)]
            nursery.start_soon(gateway_loop, cluster, feed, spread, args.readings, result, stop)
        await trio.sleep(3)
        status = (await client.get(f"{cluster.url(members[-1])}/v1/status", timeout=10)).json()
        primary, view0 = status["primary"], status["view"]
        survivors = [m for m in members if m != primary]
        cluster.kill(primary)
        killed_at = time.monotonic()
        heights0 = {m: (await client.get(f"{cluster.url(m)}/v1/status", timeout=10)).json()["height"]
                    for m in survivors[:1]}
        view_s = commit_s = None
        deadline = killed_at + 60
        while time.monotonic() < deadline and (view_s is None or commit_s is None):
            views, heights, primaries = [], [], set()
            for m in survivors:
                try:
                    s = (await client.get(f"{cluster.url(m)}/v1/status", timeout=2)).json()
                except httpx.HTTPError:
                    continue
                views.append(s["view"])
                heights.append(s["height"])
                primaries.add(s["primary"])
            if view_s is None and len(views) == len(survivors) and min(views) > view0 and len(primaries) == 1:
                view_s = time.monotonic() - killed_at
                out["new_primary"] = primaries.pop()
                out["new_view"] = min(views)
            if commit_s is None and heights and max(heights) > heights0[survivors[0]]:
                commit_s = time.monotonic() - killed_at
            await trio.sleep(0.05)
        stop.set()
        nursery.cancel_scope.deadline = trio.current_time() + 5
    out.update({"killed_primary": primary, "view_installed_s": _r(view_s),
                "first_commit_after_kill_s": _r(commit_s)})
    return out, primary


def _core(args: argparse.Namespace) -> dict[str, Any]:
    from carbonlab.bench.localcluster import CLI

    cmd = [*CLI, "bench", "core", "--nodes", str(args.nodes), "--batches", str(args.core_batches),
           "--readings", str(args.readings), "--json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "bench core did not finish within 1800 s"}
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: (round(v, 3) if not math.isnan(v) else None) for k, v in stats.items()}  # type: ignore[misc]


def _print(r: dict[str, Any]) -> None:
    print(f"bench consensus: {r['nodes']} node processes on 127.0.0.1, up to {r['gateways']} gateways, "
          f"{r['readings_per_batch']} readings per batch, {r['duration_s']:.0f} s per phase, "
          f"ledger_sync {r['ledger_sync']}")
    for phase, title in (("all_up", "all nodes up"), ("two_down", f"two down {r['two_down'].get('killed')}")):
        p = r[phase]
        print(f"  {title}:")
        for step in p["steps"]:
            print(f"    {step['gateways']:4d} gateways: {step['readings_per_s'] or 0:8.0f} readings/s  "
                  f"p50 {step['p50_s']} s  p99 {step['p99_s']} s")
        s = p["sustained"]
        print(f"    sustained (last step): {s['readings_per_s'] or 0:.0f} readings/s, p50 {s['p50_s']} s, "
              f"p99 {s['p99_s']} s, ratio to bench core {p['ratio_to_core']}, failures {p['failures']}")
        print("    CPU % of one core per node: " + ", ".join(f"{m} {c}" for m, c in p["cpu_percent"].items())
              + f"; bench client {p['bench_client_cpu_percent']}")
    v = r["view_change"]
    print(f"  view change after SIGKILL of primary {v['killed_primary']}: new view {v.get('new_view')} "
          f"(primary {v.get('new_primary')}) installed on all survivors in {v['view_installed_s']} s; "
          f"first commit after the kill at {v['first_commit_after_kill_s']} s")
    core = r["core"]
    print(f"  bench core, same run: {core.get('readings_per_s', core.get('error'))} readings/s")
