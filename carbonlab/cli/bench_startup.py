"""`carbonlab bench startup`: how long `carbonlab --help` and every subcommand's `--help` take.

Each is run as a fresh process (`carbonlab ... --help`, the way a person or the lab's many
short calls start it) `--repeat` times; printed: the median and worst wall time of each,
against the target (0.3 s, issue 17), and the bare interpreter's start-up (`python -c pass`)
measured in the same run as this machine's reference.
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


def register(sub: Any) -> None:
    parser = sub.add_parser("startup", help="time `carbonlab --help` and every subcommand's --help")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
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
    script = Path(sys.executable).with_name("carbonlab")
    base = [str(script)] if script.exists() else \
        [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"]
    bare = [_timed([sys.executable, "-c", "pass"]) for _ in range(args.repeat)]
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
