"""The `carbonlab` command, split by subcommand: each module in COMMANDS adds its own parser.

A subcommand module exposes `register(subparsers)`, which adds a parser whose
`func(args) -> int` runs it. Errors that are the user's fault (a `CarbonlabError`)
print one clear line and exit 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from carbonlab.errors import CarbonlabError

# Order here is the order `carbonlab --help` lists them.
COMMANDS = (
    "carbonlab.cli.node_cmd",
    "carbonlab.cli.ledger_cmd",
    "carbonlab.cli.sim_cmd",
    "carbonlab.cli.gateway_cmd",
    "carbonlab.cli.meters_cmd",
    "carbonlab.cli.lab_cmd",
    "carbonlab.cli.rig_cmd",
    "carbonlab.cli.dashboards_cmd",
    "carbonlab.cli.bench_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carbonlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CarbonlabError as exc:
        print(f"carbonlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
