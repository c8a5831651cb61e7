"""The `carbonlab` command, split by subcommand: each module in COMMANDS adds its own parser.

A subcommand module exposes `register(subparsers)`, which adds a parser whose
`func(args) -> int` runs it. Errors that are the user's fault (a `CarbonlabError`)
print one clear line and exit 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

import carbonlab
from carbonlab.errors import CarbonlabError

# Order here is the order `carbonlab --help` lists them.
COMMANDS = (
    "carbonlab.cli.node_cmd",
    "carbonlab.cli.ledger_cmd",
    "carbonlab.cli.emissions_cmd",
    "carbonlab.cli.allowances_cmd",
    "carbonlab.cli.compliance_cmd",
    "carbonlab.cli.report_cmd",
    "carbonlab.cli.sim_cmd",
    "carbonlab.cli.gateway_cmd",
    "carbonlab.cli.meters_cmd",
    "carbonlab.cli.lab_cmd",
    "carbonlab.cli.rig_cmd",
    "carbonlab.cli.dashboards_cmd",
    "carbonlab.cli.bench_cmd",
    "carbonlab.cli.supervise_cmd",
    "carbonlab.cli.plan_cmd",
    "carbonlab.cli.forecast_cmd",
    "carbonlab.cli.client_cmd",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported.

    Subcommand modules import heavy libraries (libp2p alone costs about two seconds of
    CPU), and the lab starts many short `carbonlab` calls on every host, so a call pays
    only for the subcommand it runs. `--help` and unknown commands import them all.
    """
    parser = argparse.ArgumentParser(
        prog="carbonlab", description="carbonlab: IaC lab and HIL rig for a PBFT carbon-emission ledger")
    parser.add_argument("--version", action="version", version=version_line(),
                        help="print the installed carbonlab's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = COMMANDS if only is None else (only,)
    for name in wanted:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not built yet
                continue
            raise
        module.register(sub)
    return parser


def version_line() -> str:
    """`carbonlab X.Y.Z`: the version of the carbonlab package this command runs."""
    return f"carbonlab {carbonlab.__version__}"


def _module_of(argv: Sequence[str]) -> str | None:
    if not argv:
        return None
    name = f"carbonlab.cli.{argv[0]}_cmd"
    return name if name in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:       # answered before any subcommand module is imported
        print(version_line())
        return 0
    parser = build_parser(_module_of(argv))
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
    except BrokenPipeError:
        # the reader went away (`carbonlab ... | head`): stop quietly, as a Unix filter does,
        # and keep Python from complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
