"""`carbonlab bench startup`: how long `carbonlab --help` and every subcommand's `--help` take;
with `--node`, how long a node takes from its process start to its first vote.

Each is run as a fresh process (`carbonlab ... --help`, the way a person or the lab's many
short calls start it) `--repeat` times; printed: the median and worst wall time of each,
against the target (0.3 s, issue 17), and the bare interpreter's start-up (`python -c pass`)
measured in the same run as this machine's reference.

`--node` (`carbonlab.bench.nodestart`) runs a small local cluster (`--nodes`, default 4)
under light load, restarts one backup `--restarts` times and prints each start-up's split
(import, ledger open, replica rebuild, p2p linked, first vote, and the API beside them; from the
node's log) against the 2 s target, with this machine's references of the same run
(Ed25519 verifies/s, fsync, `python -c pass`) and the load average.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError

TARGET_S = 0.3
VOTE_TARGET_S = 2.0   # a node ready to vote within 2 s of its process start (issue 17)


def register(sub: Any) -> None:
    parser = sub.add_parser("startup", help="time `carbonlab --help` and every subcommand's --help")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--node", action="store_true",
                        help="instead: restart a node of a small running cluster, print its start-up split")
    parser.add_argument("--nodes", type=int, default=4, help="with --node: cluster size (default 4)")
    parser.add_argument("--restarts", type=int, default=3, help="with --node: restarts measured (default 3)")
    parser.add_argument("--warm", type=float, default=10.0,
                        help="with --node: seconds of light load before the first restart (default 10)")
    parser.set_defaults(func=run)


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of `parser` ((), ("ledger",), ("ledger", "verify"), ...)."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                paths += command_paths(child, (*prefix, name))
    return paths


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    took = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise CarbonlabError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    return took


def run(args: argparse.Namespace) -> int:
    from carbonlab.cli import build_parser

    if args.repeat < 1:
        raise CarbonlabError(f"--repeat: must be at least 1, got {args.repeat}")
    if args.node:
        return run_node(args)
    script = Path(sys.executable).with_name("carbonlab")
    base = [str(script)] if script.exists() else \
        [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"]
    bare = _bare(args.repeat)
    rows: list[dict[str, Any]] = []
    for path in command_paths(build_parser()):
        times = [_timed([*base, *path, "--help"]) for _ in range(args.repeat)]
        rows.append({"command": " ".join(("carbonlab", *path, "--help")),
                     "median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4)})
    over: list[str] = [r["command"] for r in rows if r["median_s"] > TARGET_S]
    result = {"python_bare_s": round(statistics.median(bare), 4), "target_s": TARGET_S,
              "commands": rows, "over_target": over}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"bench startup: {len(rows)} commands x {args.repeat} runs, fresh process each; "
          f"target {TARGET_S} s")
    for r in sorted(rows, key=lambda r: -r["median_s"]):
        print(f"  {r['median_s']:6.3f} s median {r['max_s']:6.3f} s worst  {r['command']}")
    print(f"  this machine, same run: `python -c pass` {result['python_bare_s']:.3f} s")
    print(f"  over target: {', '.join(over) if over else 'none'}")
    return 0


def _bare(repeat: int) -> list[float]:
    return [_timed([sys.executable, "-c", "pass"]) for _ in range(repeat)]


IMPORT_PROBE = """
import sys, time
import libp2p, trio, multiaddr
third = time.process_time()
if sys.argv[1]:   # carbonlab's bytecode looked for in an empty directory, never written
    sys.dont_write_bytecode, sys.pycache_prefix = True, sys.argv[1]
for name in sys.argv[2:]:
    __import__(name)
print(third, time.process_time())
"""
VOTING = ("carbonlab.node.run",)
BEFORE = ("carbonlab.node.run", "carbonlab.node.api.server")


def _import_cpu(modules: tuple[str, ...], from_source: bool, repeat: int) -> tuple[float, float]:
    """Median CPU seconds of a fresh interpreter importing py-libp2p and trio, and then
    `modules` too; `from_source`: carbonlab's bytecode looked for in an empty cache directory,
    so compiled from source as every node did at its start under PYTHONDONTWRITEBYTECODE."""
    import tempfile

    thirds, totals = [], []
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-pycache-") as empty:
        for _ in range(repeat):
            cache = empty if from_source else ""
            done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, cache, *modules], capture_output=True,
                                  text=True, timeout=120, check=False)
            if done.returncode != 0:
                raise CarbonlabError(f"importing {', '.join(modules)} failed: {done.stderr[-300:]}")
            third, total = (float(x) for x in done.stdout.split())
            thirds.append(third)
            totals.append(total)
    return statistics.median(thirds), statistics.median(totals)


def run_node(args: argparse.Namespace) -> int:
    import tempfile
    from dataclasses import asdict

    from carbonlab.bench.nodestart import measure
    from carbonlab.bench.reference import Reference

    if not 4 <= args.nodes <= 13:
        raise CarbonlabError(f"--nodes: must be within 4..13, got {args.nodes}")
    if not 1 <= args.restarts <= 20:
        raise CarbonlabError(f"--restarts: must be within 1..20, got {args.restarts}")
    if not 0 <= args.warm <= 600:
        raise CarbonlabError(f"--warm: must be within 0..600 s, got {args.warm}")
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-nodestart-") as tmp:
        reference = Reference.measure(Path(tmp))
        bare = statistics.median(_bare(args.repeat))
        from carbonlab.bench.localcluster import compile_package

        compile_package()
        third, before = _import_cpu(BEFORE, True, args.repeat)
        _, after = _import_cpu(VOTING, False, args.repeat)
        done = measure(Path(tmp) / "cluster", args.nodes, args.restarts, args.warm)
    votes: list[float] = [r.split.first_vote_s for r in done.restarts if r.split.first_vote_s is not None]
    cpus: list[float] = [r.cpu.first_vote_s for r in done.restarts if r.cpu.first_vote_s is not None]
    median = statistics.median(votes) if votes else None
    result = {"reference": asdict(reference), "python_bare_s": round(bare, 4), "target_s": VOTE_TARGET_S,
              "import_cpu_s": {"libp2p_trio": round(third, 3), "before": round(before, 3),
                               "voting_path": round(after, 3)},
              "nodes": done.nodes, "member": done.member, "load_average_start": done.load_average_start,
              "restarts": [{**asdict(r.split), "cpu": asdict(r.cpu), "height": r.height,
                            "load_average": r.load_average} for r in done.restarts],
              "first_vote_median_s": median,
              "first_vote_cpu_median_s": statistics.median(cpus) if cpus else None,
              "voted": len(votes)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"bench startup --node: {done.nodes} node processes on 127.0.0.1, light load "
          f"(100 readings/s); {done.member} SIGKILLed and started again {len(done.restarts)} times; "
          f"target: first vote within {VOTE_TARGET_S} s of its process start")
    print(f"  {reference.line()}; `python -c pass` {bare:.3f} s; "
          f"load average at start {done.load_average_start:.1f}")
    print(f"  import, CPU s (median of {args.repeat} fresh processes): before (the node's and the API's "
          f"modules, carbonlab's compiled from source) {before:.2f} s; now (the voting path, from "
          f"bytecode) {after:.2f} s; of either, the interpreter with py-libp2p and trio {third:.2f} s")
    for k, r in enumerate(done.restarts, 1):
        print(f"  restart {k} (height {r.height}, load average {r.load_average:.1f}):")
        print(f"    wall: {r.split.line()}")
        print(f"    CPU:  {r.cpu.line('of CPU used by then')}")
    print(f"  first vote, median of {len(votes)} of {len(done.restarts)} restarts: "
          + (f"{median:.2f} s ({'within' if median <= VOTE_TARGET_S else 'over'} the target)"
             if median is not None else "none voted")
          + (f"; CPU used by then, median {statistics.median(cpus):.2f} s" if cpus else ""))
    return 0
