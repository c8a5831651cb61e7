"""`carbonlab bench ...`: benchmarks that print the figures the issues name.

Each benchmark lives in its own module (`carbonlab.cli.bench_<name>`) exposing
`register(subparsers)`; a module not built yet is simply not listed.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

BENCHES = ("core", "consensus", "gateway", "lab", "query", "report", "plan", "startup")


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench_sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    for name in BENCHES:
        modname = f"carbonlab.cli.bench_{name}"
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue
            raise
        module.register(bench_sub)
    parser.set_defaults(func=lambda args: _help(parser, args))


def _help(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    parser.print_help()
    return 2
