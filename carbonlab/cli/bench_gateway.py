"""`carbonlab bench gateway [--meters 200 | --sweep]`: the gateway's Modbus side under load.

Part 1 (TCP, `carbonlab.bench.gwbench`): one process serves N emulated TCP meters
(`carbonlab meters serve`); another runs the gateway poller against all of them at 1 Hz
each. Printed: polls/s achieved against the N/s asked, p50/p99 poll latency, and the poller
process's CPU share (its CPU seconds over wall seconds, after a warm-up), with the meters
process's share beside it. `--sweep` does this for 100, 1,000 and 5,000 meters (or the
list given) and plots the curve (`bench_gateway_sweep.py`). `--baseline REF` also runs the
poller of git REF against the same meters in the same run.

Part 2 (RTU): a meters process creates a serial bus (two ptys and the pacing relay at the
given baud rate) with a few meters on it; a poller process polls them back to back. The
frame rate the baud rate allows is computed from the bytes of each request and reply
(start + 8 data + stop = 10 bits per character) plus the 3.5-character silence Modbus RTU
requires between frames; the achieved fraction is achieved polls/s over that ceiling. The
relay does not enforce the silences, so the fraction of the bytes-only ceiling (no gaps)
is printed too: it is the stricter figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from carbonlab.cli.bench_gateway_sweep import add_sweep_options, print_point, resolve_baseline


def register(sub: Any) -> None:
    parser = sub.add_parser("gateway",
                            help="poll N emulated TCP meters at 1 Hz and an RTU bus through the relay")
    parser.add_argument("--meters", type=int, default=200, help="emulated TCP meters (default 200)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per part (default 30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring (default 5)")
    parser.add_argument("--register-map", default="t100", help="map of the TCP meters (default t100)")
    parser.add_argument("--rtu-meters", type=int, default=4, help="meters on the RTU bus (0: skip)")
    parser.add_argument("--rtu-baud", type=int, default=9600)
    parser.add_argument("--rtu-map", default="daq_4_20ma", help="map of the RTU meters (default daq_4_20ma)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_sweep_options(parser)
    parser.set_defaults(func=run)


def _rtu_ceiling(regmap_name: str, baud: int, gaps: bool = True) -> float:
    """Polls per second the line allows: bytes of the 4 frames of a poll plus (with `gaps`) the
    3.5 character silence Modbus RTU requires before each frame."""
    from carbonlab.gateway.registermap import load_register_map

    m = load_register_map(regmap_name)
    req = 8                                   # id, fc, address(2), count(2), crc(2)
    regs_reply = 5 + 2 * m.register_count     # id, fc, byte count, data, crc(2)
    bits_reply = 5 + (m.bit_count + 7) // 8
    chars = 2 * req + regs_reply + bits_reply + (4 * 3.5 if gaps else 0)
    return baud / 10.0 / chars


def _rtu(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from carbonlab.bench.gwbench import _spec, poll_child
    from carbonlab.bench.gwmeters import ServedMeters

    bus, gw = workdir / "bus", workdir / "bus-gw"
    rtu = [{"id": f"r{i}", "register_map": args.rtu_map, "transport": "rtu", "serial_port": str(bus),
            "device_id": i + 1, "baudrate": args.rtu_baud, "sample_period_s": 0.05, "timeout_s": 1.0}
           for i in range(args.rtu_meters)]
    doc = {"seed": 1, "serial_buses": {str(bus): {"baudrate": args.rtu_baud, "paced": True,
                                                  "gateway_link": str(gw)}}, "meters": rtu}
    with ServedMeters(doc, workdir, "rtu"):
        polled = [dict(m, serial_port=str(gw)) for m in rtu]
        figures = poll_child(_spec(workdir, "rtu", polled, args.warmup, args.duration),
                             args.warmup + args.duration + 120)
    ceiling = _rtu_ceiling(args.rtu_map, args.rtu_baud)
    bytes_only = _rtu_ceiling(args.rtu_map, args.rtu_baud, gaps=False)
    return {**dataclasses.asdict(figures), "baud": args.rtu_baud, "register_map": args.rtu_map,
            "ceiling_polls_s": round(ceiling, 2), "fraction": round(figures.polls_s / ceiling, 3),
            "bytes_only_ceiling_polls_s": round(bytes_only, 2),
            "bytes_only_fraction": round(figures.polls_s / bytes_only, 3)}


def run(args: argparse.Namespace) -> int:
    if args.sweep is not None:
        from carbonlab.cli.bench_gateway_sweep import run_sweep

        return run_sweep(args)
    from carbonlab.bench.gwbench import tcp_point
    from carbonlab.bench.gwmeters import raise_nofile

    commit = resolve_baseline(args.baseline)
    nofile = raise_nofile(2 * args.meters + 100)
    report: dict[str, Any] = {"nofile_soft_limit": list(nofile)}
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-gw-") as tmp:
        workdir = Path(tmp)
        if args.meters > 0:
            point = tcp_point(args.meters, workdir, register_map=args.register_map, warmup_s=args.warmup,
                              duration_s=args.duration, baseline_commit=commit)
            report["tcp"] = dataclasses.asdict(point)
        report["load_average_1m"] = os.getloadavg()[0]
        report["cpus"] = os.cpu_count()
        if args.rtu_meters > 0:
            report["rtu"] = _rtu(args, workdir)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"host: {report['cpus']} CPUs, load average {report['load_average_1m']:.1f} at the end; "
          f"soft RLIMIT_NOFILE {nofile[0]} -> {nofile[1]}")
    if args.meters > 0:
        print_point(point, args.register_map, args.baseline)
    if "rtu" in report:
        r = report["rtu"]
        print(f"RTU: {args.rtu_meters} meters on one {r['baud']} baud bus ({r['register_map']}), relay: "
              f"{r['polls_s']:.2f} polls/s of {r['ceiling_polls_s']:.2f} the line allows = "
              f"{r['fraction'] * 100:.1f} % ({r['bytes_only_fraction'] * 100:.1f} % of the bytes-only "
              f"{r['bytes_only_ceiling_polls_s']:.2f}), "
              f"latency p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms")
    return 0
