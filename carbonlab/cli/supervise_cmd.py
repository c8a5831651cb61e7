"""`carbonlab supervise --name NAME --run-dir DIR [policy] -- COMMAND...`: run COMMAND as a
service that comes back after a crash (carbonlab.lab.supervisor); the lab starts one per
service on hosts without systemd."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import integer, number


def register(sub: Any) -> None:
    parser = sub.add_parser("supervise", help="run a command as a service restarted on failure "
                                              "(systemd-like backoff and start limit)")
    parser.add_argument("--name", required=True, type=_name,
                        help="service name (NAME.pid, NAME.supervisor.pid/.json): 1-64 letters, digits, "
                             "'.', '_' or '-', starting with a letter or digit")
    parser.add_argument("--run-dir", required=True, type=Path, help="where the pidfiles and status go")
    parser.add_argument("--restart-s", type=number(0, 3600), default=None, metavar="S",
                        help="seconds before a failed service is started again (RestartSec)")
    parser.add_argument("--start-limit-burst", type=integer(1, 10_000), default=None, metavar="N",
                        help="starts allowed within the interval (StartLimitBurst)")
    parser.add_argument("--start-limit-interval-s", type=number(0, 86_400), default=None,
                        metavar="S", help="the start limit's interval (StartLimitIntervalSec)")
    parser.add_argument("--stop-grace-s", type=number(0, 3600), default=None, metavar="S",
                        help="seconds between SIGTERM and SIGKILL when stopping (TimeoutStopSec)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the service's command line")
    parser.set_defaults(func=_run, parser=parser)


def _name(text: str) -> str:
    from carbonlab.checks import name_problem

    problem = name_problem(text)    # it names files in --run-dir: "a/b", "../x", "" must not
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _run(args: argparse.Namespace) -> int:
    from carbonlab.lab.supervisor import Policy, Supervisor

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        args.parser.error("give the service's command line after --")
    if not command[0].startswith("/"):
        args.parser.error(f"the command must be an absolute path, not {command[0]!r}")
    if not args.run_dir.is_dir():
        args.parser.error(f"--run-dir {args.run_dir}: not a directory (the service's pidfiles go there)")
    if not os.access(args.run_dir, os.W_OK | os.X_OK):
        args.parser.error(f"--run-dir {args.run_dir}: not writable (the service's pidfiles go there)")
    # options not given keep Policy's own defaults (not imported to build the parser: --help stays fast)
    given = {name: getattr(args, name) for name in ("restart_s", "start_limit_burst",
                                                    "start_limit_interval_s", "stop_grace_s")}
    policy = Policy(**{name: value for name, value in given.items() if value is not None})
    return Supervisor(args.name, command, args.run_dir, policy).run()
