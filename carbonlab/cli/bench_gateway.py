"""`carbonlab bench gateway --meters 200`: the gateway's Modbus side under load.

Part 1 (TCP): one process serves N emulated TCP meters (`carbonlab meters serve`); another
process runs the gateway poller against all of them at 1 Hz each. Printed: polls/s
achieved against the N/s asked, p50/p99 poll latency, and the poller process's CPU share
(user+system CPU seconds from getrusage over wall seconds, measured after a warm-up).

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
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVE = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())"]
POLL = [sys.executable, "-m", "carbonlab.cli.bench_gateway"]


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
    parser.set_defaults(func=run)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _Served:
    """A `carbonlab meters serve` child, stopped by its PID."""

    def __init__(self, doc: dict[str, Any], workdir: Path, name: str) -> None:
        import yaml

        self.config = workdir / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump(doc))
        self.log = workdir / f"{name}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([*SERVE, "meters", "serve", "--config", str(self.config)],
                                         stdout=subprocess.PIPE, stderr=log, text=True)

    def __enter__(self) -> _Served:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("serving"):
            self.__exit__()
            raise RuntimeError(f"meters process did not start: {self.log.read_text()[-2000:]}")
        return self

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the meters process has used, from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _poll_child(meters: list[dict[str, Any]], workdir: Path, name: str,
                args: argparse.Namespace) -> dict[str, Any]:
    spec = workdir / f"{name}-poll.json"
    spec.write_text(json.dumps({"meters": meters, "warmup": args.warmup, "duration": args.duration}))
    out = subprocess.run([*POLL, str(spec)], capture_output=True, text=True,
                         timeout=args.warmup + args.duration + 120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"poller process failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


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


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-gw-") as tmp:
        workdir = Path(tmp)
        ports = _free_ports(args.meters)
        meters = [{"id": f"m{i:03d}", "register_map": args.register_map, "transport": "tcp",
                   "host": "127.0.0.1", "port": port, "device_id": 1, "sample_period_s": 1.0,
                   "timeout_s": 1.0}
                  for i, port in enumerate(ports)]
        if args.meters > 0:
            with _Served({"seed": 1, "meters": meters}, workdir, "tcp") as served:
                c0, t0 = served.cpu_s(), time.monotonic()
                report["tcp"] = _poll_child(meters, workdir, "tcp", args)
                report["tcp"]["meters_process_cpu_share"] = (served.cpu_s() - c0) / (time.monotonic() - t0)
            report["tcp"]["meters"] = args.meters
        report["load_average_1m"] = os.getloadavg()[0]
        report["cpus"] = os.cpu_count()
        if args.rtu_meters > 0:
            bus, gw = workdir / "bus", workdir / "bus-gw"
            rtu = [{"id": f"r{i}", "register_map": args.rtu_map, "transport": "rtu",
                    "serial_port": str(bus), "device_id": i + 1, "baudrate": args.rtu_baud,
                    "sample_period_s": 0.05, "timeout_s": 1.0}
                   for i in range(args.rtu_meters)]
            doc = {"seed": 1, "serial_buses": {str(bus): {"baudrate": args.rtu_baud, "paced": True,
                                                          "gateway_link": str(gw)}}, "meters": rtu}
            with _Served(doc, workdir, "rtu"):
                polled = [dict(m, serial_port=str(gw)) for m in rtu]
                report["rtu"] = _poll_child(polled, workdir, "rtu", args)
            ceiling = _rtu_ceiling(args.rtu_map, args.rtu_baud)
            bytes_only = _rtu_ceiling(args.rtu_map, args.rtu_baud, gaps=False)
            report["rtu"].update(baud=args.rtu_baud, register_map=args.rtu_map,
                                 ceiling_polls_s=round(ceiling, 2),
                                 fraction=round(report["rtu"]["polls_s"] / ceiling, 3),
                                 bytes_only_ceiling_polls_s=round(bytes_only, 2),
                                 bytes_only_fraction=round(report["rtu"]["polls_s"] / bytes_only, 3))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"host: {report['cpus']} CPUs, load average {report['load_average_1m']:.1f} at the end")
    if "tcp" in report:
        t = report["tcp"]
        print(f"TCP: {t['meters']} meters at 1 Hz ({args.register_map}): {t['polls_s']:.1f} polls/s "
              f"({t['ok_fraction'] * 100:.2f} % ok), "
              f"latency p50 {t['p50_ms']:.2f} ms p99 {t['p99_ms']:.2f} ms, "
              f"poller CPU {t['cpu_share'] * 100:.1f} % of one core "
              f"(meters process {t['meters_process_cpu_share'] * 100:.1f} %)")
    if "rtu" in report:
        r = report["rtu"]
        print(f"RTU: {args.rtu_meters} meters on one {r['baud']} baud bus ({r['register_map']}), relay: "
              f"{r['polls_s']:.2f} polls/s of {r['ceiling_polls_s']:.2f} the line allows = "
              f"{r['fraction'] * 100:.1f} % ({r['bytes_only_fraction'] * 100:.1f} % of the bytes-only "
              f"{r['bytes_only_ceiling_polls_s']:.2f}), "
              f"latency p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms")
    return 0


# -- the poller child process ------------------------------------------------------------------------
async def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from carbonlab.gateway.endpoint import MeterEndpoint
    from carbonlab.gateway.poller import Poller
    from carbonlab.gateway.sample import Sample

    endpoints = [MeterEndpoint.from_dict(m, Path("<bench>")) for m in spec["meters"]]
    window = {"open": False}
    latencies: list[float] = []
    counts = {"ok": 0, "all": 0}

    async def sink(sample: Sample) -> None:
        if window["open"]:
            counts["all"] += 1
            if sample.status.value == "ok":
                counts["ok"] += 1
                latencies.append(sample.latency_s)

    poller = Poller(endpoints, sink)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(spec["warmup"])
    window["open"] = True
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    await asyncio.sleep(spec["duration"])
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    window["open"] = False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    wall = t1 - t0
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
    return {"polls_s": counts["all"] / wall, "ok_fraction": counts["ok"] / max(1, counts["all"]),
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "cpu_share": cpu / wall, "wall_s": wall,
            "skipped": poller.stats.skipped}


def _child_main(spec_path: str) -> int:
    import asyncio
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    spec = json.loads(Path(spec_path).read_text())
    print(json.dumps(asyncio.run(_measure(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
