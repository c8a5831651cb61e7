"""`carbonlab bench gateway --sweep [100,1000,5000] [--plot FILE] [--baseline REF]`: the
gateway's polling cost as a curve of the number of TCP meters at 1 Hz.

Per point (a fresh meters process and a fresh poller process each, `carbonlab.bench.gwbench`):
polls/s achieved, % of the frame rate asked, p50/p99 poll latency, the poller's CPU as % of
one core and the meters process's beside it, and the load average. Printed first: this
machine's reference figures of the same run (Ed25519 verifies/s, fsync) and the soft
RLIMIT_NOFILE raised for the many sockets. The plot (matplotlib, imported only here) has the
CPU share against meters with the 50 % target, and the latencies; with `--baseline`, the
commit's poller is drawn dashed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carbonlab.bench.gwbench import PollFigures, TcpPoint

SWEEP = (100, 1000, 5000)
TARGET_SHARE = 0.5   # issue 17: 1,000 TCP meters at 1 Hz under 50 % of one core


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sweep: a comma-separated list of meter counts, got {text!r}") \
            from None
    if not counts or any(c < 1 or c > 20_000 for c in counts):
        raise argparse.ArgumentTypeError(f"--sweep: each count must be 1..20000, got {text!r}")
    return counts


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sweep", nargs="?", type=_counts, const=SWEEP, default=None, metavar="N,N,...",
                        help="TCP only, for each meter count (default 100,1000,5000); plotted")
    parser.add_argument("--plot", type=Path, default=Path("gateway-sweep.png"),
                        help="with --sweep: the PNG to write (default gateway-sweep.png)")
    parser.add_argument("--baseline", default="none", metavar="REF",
                        help="also run the poller of git REF against the same meters (default none)")


def resolve_baseline(ref: str) -> str | None:
    if ref == "none":
        return None
    from carbonlab.bench import baseline
    from carbonlab.errors import CarbonlabError

    commit = baseline.resolve(ref)
    if commit is None:
        raise CarbonlabError(f"--baseline {ref}: no git checkout with that ref here")
    return commit


def print_point(p: TcpPoint, register_map: str, baseline_ref: str) -> None:
    n = p.now
    print(f"TCP: {p.meters:,} meters at 1 Hz ({register_map}): {n.polls_s:,.1f} polls/s = "
          f"{p.frame_fraction * 100:.1f} % of the frame rate ({n.ok_fraction * 100:.2f} % ok, "
          f"{n.skipped} ticks skipped), latency p50 {n.p50_ms:.2f} ms p99 {n.p99_ms:.2f} ms, "
          f"gateway CPU {n.cpu_share * 100:.1f} % of one core = {_per_poll_us(n)} per poll (meters process "
          f"{p.meters_process_cpu_share * 100:.1f} %; load average {p.load_average:.1f})")
    if p.before is not None:
        b = p.before
        print(f"     before ({baseline_ref}): {b.polls_s:,.1f} polls/s ({b.ok_fraction * 100:.2f} % ok), "
              f"p50 {b.p50_ms:.2f} ms p99 {b.p99_ms:.2f} ms, CPU {b.cpu_share * 100:.1f} % of one core = "
              f"{_per_poll_us(b)} per poll; CPU per poll now / before "
              f"{(n.cpu_share / max(n.polls_s, 1e-9)) / max(b.cpu_share / max(b.polls_s, 1e-9), 1e-12):.2f}")


def target_verdict(p: TcpPoint) -> str:
    """'met' or 'not met' only for a point that polled (nearly) every meter every second, with
    replies; otherwise the point says nothing about the target."""
    n = p.now
    at = (f"{n.cpu_share * 100:.1f} % at {p.frame_fraction * 100:.1f} % of the frame rate, "
          f"{n.ok_fraction * 100:.1f} % ok")
    if p.frame_fraction < 0.95 or n.ok_fraction < 0.99:
        return f"not measured ({at}: the meters or the machine did not keep up)"
    return f"{'met' if n.cpu_share < TARGET_SHARE else 'not met'} ({at})"


def _per_poll_us(f: PollFigures) -> str:
    return f"{1e6 * f.cpu_share / f.polls_s:,.0f} us" if f.polls_s > 0 else "-"


def run_sweep(args: argparse.Namespace) -> int:
    import os
    import subprocess
    import tempfile

    from carbonlab.bench.gwbench import tcp_point
    from carbonlab.bench.gwmeters import raise_nofile
    from carbonlab.bench.reference import Reference
    from carbonlab.errors import CarbonlabError

    commit = resolve_baseline(args.baseline)
    nofile = raise_nofile(2 * max(args.sweep) + 100)
    points: list[TcpPoint] = []
    with tempfile.TemporaryDirectory(prefix="carbonlab-bench-gw-") as tmp:
        ref = Reference.measure(Path(tmp))
        print(ref.line())
        print(f"soft RLIMIT_NOFILE raised {nofile[0]} -> {nofile[1]} for the meters' sockets; "
              "meters on 127.0.0.1, below the ephemeral port range")
        for n in args.sweep:
            warmup = max(args.warmup, n / 500)       # 5,000 connections take a while to open
            try:
                point = tcp_point(n, Path(tmp), register_map=args.register_map, warmup_s=warmup,
                                  duration_s=args.duration, baseline_commit=commit)
            except (CarbonlabError, subprocess.TimeoutExpired) as exc:
                # one point that could not be measured (a poller past its deadline, meters that
                # would not start) is reported and the sweep goes on
                print(f"TCP: {n:,} meters: not measured: {str(exc)[-300:]} "
                      f"(load average {os.getloadavg()[0]:.1f})")
                continue
            points.append(point)
            print_point(point, args.register_map, args.baseline)
    if not points:
        print("no point measured: no plot")
        return 1
    verdict = [p for p in points if p.meters == 1000]
    if verdict:
        print(f"target (issue 17): 1,000 TCP meters at 1 Hz under {TARGET_SHARE * 100:.0f} % of one core: "
              f"{target_verdict(verdict[0])}")
    print(f"plot: {plot(points, args.plot, args.baseline)}")
    return 0


def plot(points: list[TcpPoint], path: Path, baseline_ref: str) -> Path:
    """CPU % of one core against meters (with the 50 % target), and p50/p99 latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p.meters for p in points]
    fig, (cpu, lat) = plt.subplots(1, 2, figsize=(10, 4))
    cpu.plot(xs, [100 * p.now.cpu_share for p in points], marker="o", label="gateway poller")
    cpu.plot(xs, [100 * p.meters_process_cpu_share for p in points], marker=".", linestyle=":",
             label="emulated meters process")
    cpu.plot(xs, [100 * p.frame_fraction for p in points], marker="x", linestyle="-.",
             label="% of frame rate achieved")
    befores = [(p.meters, p.before) for p in points if p.before is not None]
    if befores:
        cpu.plot([m for m, _ in befores], [100 * b.cpu_share for _, b in befores], marker="o",
                 linestyle="--", label=f"gateway poller, {baseline_ref}")
    cpu.axhline(100 * TARGET_SHARE, color="grey", linewidth=0.8, label="target at 1,000 meters")
    cpu.set_xscale("log")
    cpu.set_xlabel("TCP meters polled at 1 Hz")
    cpu.set_ylabel("% of one core / % of frame rate")
    cpu.grid(True, alpha=0.3)
    cpu.legend(fontsize=7)
    lat.plot(xs, [p.now.p99_ms for p in points], marker="o", label="p99")
    lat.plot(xs, [p.now.p50_ms for p in points], marker=".", linestyle="--", label="p50")
    lat.set_xscale("log")
    if any(p.now.p50_ms > 0 for p in points):   # NaN (no reply at all) compares False
        lat.set_yscale("log")
    lat.set_xlabel("TCP meters polled at 1 Hz")
    lat.set_ylabel("poll latency, ms")
    lat.grid(True, alpha=0.3)
    lat.legend(fontsize=7)
    fig.suptitle(f"bench gateway --sweep (load average {max(p.load_average for p in points):.1f})",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


