"""`carbonlab lab ...`: bring a lab up, look at it, watch it, take it down, and the demo."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.lab.names import DEFAULT_TOPOLOGY, PROVIDERS

# `lab status` exits 1 when the lab is up but not healthy (a service down), 0 when healthy or
# absent, 2 on an error
STATUS_NOT_HEALTHY = 1

if TYPE_CHECKING:   # the lab's modules load only when a command runs (`--help` stays fast)
    from carbonlab.lab.lifecycle import Lab, UpTimes


def register(sub: Any) -> None:
    parser = sub.add_parser("lab", help="provision and run a lab from a topology file")
    lab_sub = parser.add_subparsers(dest="lab_command", metavar="ACTION")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("topology", nargs="?", type=Path, default=None,
                       help="topology YAML (default: the one the lab in --lab-dir was brought up "
                       "from, else the shipped default topology)")
        p.add_argument("--lab-dir", type=Path, default=None,
                       help="where the lab keeps its state, logs and hosts (default: ./var/labs/LAB_ID)")

    up = lab_sub.add_parser("up", help="create hosts, provision them, wait until healthy (converges)")
    common(up)
    up.add_argument("--provider", choices=PROVIDERS, default=None,
                    help="override the topology's provider")
    up.add_argument("--health-timeout", type=float, default=180.0, metavar="S")
    up.add_argument("--down-on-failure", action="store_true",
                    help="if up fails, take the lab down again (else it says what it left)")
    up.set_defaults(func=_up)

    status = lab_sub.add_parser("status", help="hosts, services, node height and view, gateway backlog")
    common(status)
    status.set_defaults(func=_status)

    watch = lab_sub.add_parser("watch", help="the dashboards' key figures from the lab's Prometheus "
                               "(else the node APIs), refreshing until Ctrl-C")
    common(watch)
    watch.add_argument("--interval", type=float, default=2.0, metavar="S")
    watch.add_argument("--count", type=int, default=0, help="stop after this many screens (0: never)")
    watch.set_defaults(func=_watch)

    down = lab_sub.add_parser("down", help="remove everything the lab created (idempotent)")
    common(down)
    down.set_defaults(func=_down)

    demo = lab_sub.add_parser("demo", help="bring up the default lab locally and show it working")
    common(demo)
    demo.add_argument("--duration", type=float, default=0.0, metavar="S",
                      help="stop showing after S seconds (default: until Ctrl-C)")
    demo.add_argument("--provider", choices=PROVIDERS, default="local")
    demo.add_argument("--down-on-failure", action="store_true",
                      help="if bringing the lab up fails, take it down again")
    demo.set_defaults(func=_demo)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _lab(args: argparse.Namespace, provider: str | None = None) -> Lab:
    from carbonlab.lab.lifecycle import Lab, default_lab_dir
    from carbonlab.lab.state import recorded_topology
    from carbonlab.lab.topology import load

    topo = load(args.topology or recorded_topology(args.lab_dir) or DEFAULT_TOPOLOGY)
    lab_dir = args.lab_dir or default_lab_dir(topo)
    return Lab(topo, lab_dir, provider, progress=lambda line: print(line, flush=True))


def carbonlab_command() -> str:
    """How the person who ran this command runs carbonlab again: `carbonlab` when that name on
    their PATH is this very command, else the path of this venv's script (a fresh clone has
    `.venv/bin/carbonlab`, not `carbonlab`, on no PATH)."""
    script = Path(os.path.abspath(sys.executable)).parent / "carbonlab"
    on_path = shutil.which("carbonlab")
    if on_path and script.exists() and Path(on_path).resolve() == script.resolve():
        return "carbonlab"
    return str(script) if script.exists() else "carbonlab"


def lab_command(action: str, args: argparse.Namespace, lab: Lab) -> str:
    """A `lab ACTION` command line for this lab that works from any directory."""
    argv = [carbonlab_command(), "lab", action]
    if args.topology is not None and args.topology != DEFAULT_TOPOLOGY:
        argv.append(os.path.abspath(args.topology))
    return shlex.join([*argv, "--lab-dir", str(lab.lab_dir)])


def _bring_up(lab: Lab, args: argparse.Namespace, **kwargs: Any) -> UpTimes | None:
    from carbonlab.lab.errors import UpFailed

    try:
        return lab.up(down_on_failure=args.down_on_failure, **kwargs)
    except UpFailed as exc:
        print(f"carbonlab: error: {exc}", file=sys.stderr)
        if exc.left:
            print(f"Remove what it left with:\n  {lab_command('down', args, lab)}", file=sys.stderr)
        return None


def _up(args: argparse.Namespace) -> int:
    lab = _lab(args, args.provider)
    times = _bring_up(lab, args, health_timeout_s=args.health_timeout)
    if times is None:
        return 2
    print(f"lab {lab.topo.lab_id} healthy on {lab.provider_name} in {times.healthy_s:.1f} s "
          f"(hosts {times.hosts_s:.1f} s, provisioned at {times.provision_s:.1f} s, "
          f"changed={times.changed}); `{lab_command('status', args, lab)}` shows it")
    return 0


def _status(args: argparse.Namespace) -> int:
    from carbonlab.lab import view

    lab = _lab(args)
    facts = lab.facts()
    print(view.status_text(lab.state, facts, str(lab.lab_dir)))
    if facts is not None and not facts.healthy()[0]:
        print(f"`{lab_command('up', args, lab)}` starts again what is down (up converges)")
        return STATUS_NOT_HEALTHY
    return 0


def _watch(args: argparse.Namespace) -> int:
    from carbonlab.lab import view
    from carbonlab.lab.state import LabState

    lab = _lab(args)
    prom = lab.topo.prometheus
    shown = 0
    try:
        while args.count == 0 or shown < args.count:
            state = LabState.load(lab.state.path)
            text = view.watch_screen(
                state, str(lab.lab_dir), lambda: lab.ports().url(prom.host, "prometheus") if prom else None,
                lab.facts, color=sys.stdout.isatty())
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[H\x1b[2J")
            stamp = time.strftime("%H:%M:%S")
            print(f"{text}\n\n{stamp}  refreshing every {args.interval:g} s; Ctrl-C to stop", flush=True)
            shown += 1
            if args.count == 0 or shown < args.count:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def _down(args: argparse.Namespace) -> int:
    from carbonlab.lab.lifecycle import take_down
    from carbonlab.lab.state import LabState, check_lab_dir

    if args.topology is None and args.lab_dir is not None:
        # the lab's state file is all `down` needs: its topology may be gone or edited since
        check_lab_dir(args.lab_dir)
        lab_dir = args.lab_dir.resolve()
        state_file = lab_dir / "state.json"
        if not state_file.is_file():
            print(f"{lab_dir}: no lab here (no state.json): nothing to take down")
            return 0
        take_down(lab_dir, LabState.load(state_file), progress=lambda line: print(line, flush=True))
        return 0
    _lab(args).down()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from carbonlab.lab import view

    lab = _lab(args, args.provider)
    start = time.monotonic()
    times = _bring_up(lab, args)
    if times is None:
        return 2
    until = f"for {args.duration:g} s" if args.duration else "Ctrl-C to stop"
    print(f"lab healthy after {times.healthy_s:.1f} s; showing it working ({until})", flush=True)
    facts = lab.facts()
    if facts is not None and facts.clients:
        print("Each organisation's web console (open it in a browser, log in with its token):",
              flush=True)
        for line in view.console_lines(facts, str(lab.lab_dir)):
            print(line, flush=True)
    first_readings: float | None = None
    try:
        while not args.duration or time.monotonic() - start < times.healthy_s + args.duration:
            facts = lab.facts()
            if facts is None:
                break
            print(view.demo_line(facts, time.monotonic() - start), flush=True)
            best = max(n.readings for n in facts.nodes)
            if first_readings is None and best > 0:
                first_readings = time.monotonic() - start
                print(f"first readings committed {first_readings:.1f} s after start", flush=True)
            time.sleep(2.0)
    except KeyboardInterrupt:
        print()
    print("\nThe lab keeps running. Look further (these commands work from any directory):\n"
          f"  {lab_command('status', args, lab)}\n      every host, node height and view, backlog\n"
          f"  {lab_command('watch', args, lab)}\n      the same, refreshing\n"
          "  the consoles above (URLs and tokens also in `lab status`)\n"
          f"  logs and configs under {lab.lab_dir}\n"
          f"Tear it down with:\n  {lab_command('down', args, lab)}")
    return 0
