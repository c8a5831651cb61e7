"""`carbonlab rig list` (scenarios and faults) and `carbonlab rig run SCENARIO...` (against a lab,
brought up first when it is not healthy), printing each scenario's duration and the rig's CPU."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("rig", help="hardware-in-the-loop rig: fault scenarios with invariant checks")
    rsub = parser.add_subparsers(dest="rig_command", metavar="ACTION")
    ls = rsub.add_parser("list", help="the shipped scenarios (and with --faults the fault catalogue)")
    ls.add_argument("--faults", action="store_true", help="list the fault catalogue instead")
    ls.set_defaults(func=_list)
    run = rsub.add_parser("run", help="run scenarios (names, files, or 'all') against a lab")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    run.add_argument("--topology", type=Path, default=None,
                     help="topology file (default: the one the lab in --lab-dir was brought up "
                     "from, else the default lab)")
    run.add_argument("--lab-dir", type=Path, default=None,
                     help="the lab's directory (default: var/labs/<lab>)")
    run.add_argument("--provider", choices=("local", "netns", "ssh"), default=None,
                     help="bring the lab up on this provider when it is not healthy")
    run.add_argument("--seed", type=int, default=None, help="override every scenario's seed")
    run.add_argument("--report", type=Path, default=Path("rig-reports"), metavar="DIR",
                     help="where each scenario's report goes (DIR/<scenario>/report.md)")
    run.add_argument("--down", action="store_true", help="take the lab down afterwards")
    run.add_argument("--grafana-url", default=None, metavar="URL",
                     help="post an annotation per fault applied and healed to this Grafana "
                          "(default: $CARBONLAB_GRAFANA_URL; none when unset)")
    run.add_argument("--grafana-token", default=None, metavar="TOKEN",
                     help="its API token (default: $CARBONLAB_GRAFANA_TOKEN)")
    run.set_defaults(func=_run)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _list(args: argparse.Namespace) -> int:
    if args.faults:
        from carbonlab.rig.faults.catalogue import describe
        for f in describe():
            params = ", ".join(f"{k}={v}" for k, v in f["params"].items()) or "-"
            print(f"{f['id']:<20} {f['target']:<8} {params:<40} {f['summary']}")
        return 0
    from carbonlab.rig.scenario import shipped
    for s in shipped():
        needs = f" [needs {', '.join(s.needs)}]" if s.needs else ""
        print(f"{s.name:<30} {s.duration_s:>5.0f} s  {len(s.timeline)} step(s){needs}  {s.summary.strip()}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    from carbonlab.lab import topology
    from carbonlab.lab.lifecycle import Lab, default_lab_dir
    from carbonlab.lab.state import LabState, Phase, recorded_topology
    from carbonlab.rig.annotations import grafana_marks
    from carbonlab.rig.labbind import bind_lab
    from carbonlab.rig.report import write_report
    from carbonlab.rig.runner import run_scenario
    from carbonlab.rig.scenario import find, shipped

    chosen = shipped() if args.scenarios == ["all"] else [find(name) for name in args.scenarios]
    if args.seed is not None:
        chosen = [dataclasses.replace(s, seed=args.seed) for s in chosen]
    topo_path = (args.topology or recorded_topology(args.lab_dir) or topology.DEFAULT_TOPOLOGY).resolve()
    topo = topology.load(topo_path)
    lab_dir = (args.lab_dir or default_lab_dir(topo)).resolve()
    marks = grafana_marks(args.grafana_url, args.grafana_token)
    if marks is not None:
        print(f"fault annotations go to Grafana at {marks.url}")
    if LabState.load(lab_dir / "state.json").phase != Phase.HEALTHY:
        print(f"lab {topo.lab_id} is not healthy: bringing it up ({args.provider or topo.provider})")
        try:
            Lab(topo, lab_dir, args.provider).up()
        except BaseException:
            if args.down:
                Lab(topo, lab_dir).down()
            raise
    rig = bind_lab(topo_path, lab_dir)
    failed, total_start = 0, time.monotonic()
    try:
        for scenario in chosen:
            print(f"scenario {scenario.name} (seed {scenario.seed}, {scenario.duration_s:.0f} s of faults)")
            result = run_scenario(rig, scenario, args.report.resolve() / scenario.name, marks=marks)
            report = write_report(args.report.resolve() / scenario.name / "run.json")
            verdict = "SKIP" if result.skipped else ("PASS" if result.passed else "FAIL")
            failed += verdict == "FAIL"
            for r in result.results:
                print(f"    {r.line()}")
            why = f" ({result.skipped})" if result.skipped else ""
            print(f"  {verdict} {scenario.name}: duration {result.duration_s:.1f} s, rig CPU "
                  f"{result.cpu_pct:.1f} % of one core{why}; report {report}")
            if result.marks is not None:
                print(f"  Grafana: {result.marks.posted} annotation(s) posted, {len(result.marks.failures)} "
                      f"failed{': ' + result.marks.failures[0] if result.marks.failures else ''}")
    finally:
        rig.close()
        if args.down:
            Lab(topo, lab_dir).down()
    print(f"{len(chosen)} scenario(s), {failed} failed, {time.monotonic() - total_start:.1f} s in all")
    return 1 if failed else 0
