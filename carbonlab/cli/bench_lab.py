"""`carbonlab bench lab`: nothing -> healthy for the default topology, and the converging run.

Prints the seconds from no lab to healthy (hosts, provisioned, healthy), the seconds of a
second `site.yml` run with its changed count (0 when idempotent), the seconds until the
first readings are committed, the slowest steps of both runs (from the playbook's timing
table), and then takes the lab down. Targets (issue 5): healthy within
120 s on netns, second run within 30 s, readings within 60 s for the local demo.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from carbonlab.lab.names import DEFAULT_TOPOLOGY, PROVIDERS


def register(sub: Any) -> None:
    parser = sub.add_parser("lab", help="time a lab from nothing to healthy, and its second run")
    parser.add_argument("topology", nargs="?", type=Path, default=DEFAULT_TOPOLOGY)
    parser.add_argument("--provider", choices=PROVIDERS, default="netns")
    parser.add_argument("--lab-id", default="bench", help="lab id used for the run (default: bench)")
    parser.add_argument("--readings-timeout", type=float, default=180.0, metavar="S")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import yaml

    from carbonlab.lab.lifecycle import Lab
    from carbonlab.lab.topology import parse

    raw = yaml.safe_load(args.topology.read_text())
    raw["lab_id"] = args.lab_id
    topo = parse(raw, str(args.topology))
    lab_dir = Path(tempfile.mkdtemp(prefix="clbench", dir="/tmp"))
    quiet = lambda _line: None  # noqa: E731
    lab = Lab(topo, lab_dir, args.provider, progress=quiet)
    print(f"bench lab: {args.topology.name} on {args.provider} ({len(topo.hosts)} hosts, "
          f"{len(topo.members)} nodes, {len(topo.gateways)} gateways, {len(topo.meters)} meters)", flush=True)
    try:
        start = time.monotonic()
        times = lab.up()
        readings_s = None
        deadline = time.monotonic() + args.readings_timeout
        while time.monotonic() < deadline:
            facts = lab.facts()
            if facts and max(n.readings for n in facts.nodes) > 0:
                readings_s = time.monotonic() - start
                break
            time.sleep(0.5)
        second_start = time.monotonic()
        second = lab.provision("site-second.log", same_code=True)
        second_s = time.monotonic() - second_start
        slowest = {run: _slowest(lab_dir / "logs" / f"{log}-timing.tsv")
                   for run, log in (("first", "site"), ("second", "site-second"))}
    finally:
        lab.down()
        shutil.rmtree(lab_dir, ignore_errors=True)
    print(f"hosts up            {times.hosts_s:7.1f} s")
    print(f"provisioned         {times.provision_s:7.1f} s")
    print(f"nothing -> healthy  {times.healthy_s:7.1f} s   (target 120 s on netns)")
    print(f"readings committed  {readings_s:7.1f} s" if readings_s is not None
          else f"readings committed  none within {args.readings_timeout:g} s")
    print(f"second site.yml     {second_s:7.1f} s   changed={second.changed} (target 30 s, changed=0)")
    for name, rows in slowest.items():
        print(f"slowest steps of the {name} run (seconds, hosts, task):")
        for row in rows:
            print(f"  {row}")
    return 0


def _slowest(table: Path, count: int = 6) -> list[str]:
    """The first rows of the playbook's timing table (carbonlab_timing callback): where the time went."""
    try:
        lines = table.read_text().splitlines()
    except OSError:
        return ["(no timing table)"]
    return [line.replace("\t", "  ") for line in lines[:count]]
