"""`carbonlab lab ...`: bring a lab up, look at it, watch it, take it down, and the demo."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from carbonlab.lab import view
from carbonlab.lab.lifecycle import Lab, default_lab_dir
from carbonlab.lab.state import LabState
from carbonlab.lab.topology import DEFAULT_TOPOLOGY, PROVIDERS, load


def register(sub: Any) -> None:
    parser = sub.add_parser("lab", help="provision and run a lab from a topology file")
    lab_sub = parser.add_subparsers(dest="lab_command", metavar="ACTION")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("topology", nargs="?", type=Path, default=DEFAULT_TOPOLOGY,
                       help="topology YAML (default: the shipped default topology)")
        p.add_argument("--lab-dir", type=Path, default=None,
                       help="where the lab keeps its state, logs and hosts (default: ./var/labs/LAB_ID)")

    up = lab_sub.add_parser("up", help="create hosts, provision them, wait until healthy (converges)")
    common(up)
    up.add_argument("--provider", choices=PROVIDERS, default=None,
                    help="override the topology's provider")
    up.add_argument("--health-timeout", type=float, default=180.0, metavar="S")
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
    demo.set_defaults(func=_demo)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _lab(args: argparse.Namespace, provider: str | None = None) -> Lab:
    topo = load(args.topology)
    lab_dir = args.lab_dir or default_lab_dir(topo)
    return Lab(topo, lab_dir, provider, progress=lambda line: print(line, flush=True))


def _up(args: argparse.Namespace) -> int:
    lab = _lab(args, args.provider)
    times = lab.up(health_timeout_s=args.health_timeout)
    print(f"lab {lab.topo.lab_id} healthy on {lab.provider_name} in {times.healthy_s:.1f} s "
          f"(hosts {times.hosts_s:.1f} s, provisioned at {times.provision_s:.1f} s, "
          f"changed={times.changed}); `carbonlab lab status` shows it")
    return 0


def _status(args: argparse.Namespace) -> int:
    lab = _lab(args)
    print(view.status_text(lab.state, lab.facts(), str(lab.lab_dir)))
    return 0


def _watch(args: argparse.Namespace) -> int:
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
    lab = _lab(args)
    lab.down()
    return 0


def _demo(args: argparse.Namespace) -> int:
    lab = _lab(args, args.provider)
    start = time.monotonic()
    times = lab.up()
    until = f"for {args.duration:g} s" if args.duration else "Ctrl-C to stop"
    print(f"lab healthy after {times.healthy_s:.1f} s; showing it working ({until})", flush=True)
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
    topo_arg = "" if args.topology == DEFAULT_TOPOLOGY else f" {args.topology}"
    dir_arg = "" if args.lab_dir is None else f" --lab-dir {args.lab_dir}"
    print("\nThe lab keeps running. Look further:\n"
          f"  carbonlab lab status{topo_arg}{dir_arg}      every host, node height and view, backlog\n"
          f"  carbonlab lab watch{topo_arg}{dir_arg}       the same, refreshing\n"
          f"  logs and configs under {lab.lab_dir}\n"
          f"Tear it down with:\n  carbonlab lab down{topo_arg}{dir_arg}")
    return 0
