"""One point of `bench gateway`'s TCP part: N emulated meters at 1 Hz, the gateway's poller
against them, and (optionally) the poller of another commit against the same meters.

The meters run in one `carbonlab meters serve` process (`gwmeters.ServedMeters`); the poller
in another (`gwpoll`), so the CPU share printed is the gateway's own. `% of frame rate` is
polls/s achieved over the N polls/s asked. The meters process's own CPU share is reported
too: on a 2-core machine it is the first thing to run out, and a point where it did is a
point about the emulator, not the gateway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonlab.bench import baseline
from carbonlab.bench.gwmeters import ServedMeters, tcp_meters
from carbonlab.errors import CarbonlabError

POLL = [sys.executable, "-m", "carbonlab.bench.gwpoll"]


@dataclass(frozen=True, slots=True)
class PollFigures:
    polls_s: float
    ok_fraction: float
    p50_ms: float
    p99_ms: float
    cpu_share: float      # the poller process's CPU seconds per wall second (1.0 = one core)
    skipped: int

    @classmethod
    def of(cls, d: dict[str, Any]) -> PollFigures:
        return cls(float(d["polls_s"]), float(d["ok_fraction"]), float(d["p50_ms"]), float(d["p99_ms"]),
                   float(d["cpu_share"]), int(d["skipped"]))


@dataclass(frozen=True, slots=True)
class TcpPoint:
    meters: int
    now: PollFigures
    before: PollFigures | None          # the --baseline commit's poller, same meters, same run
    meters_process_cpu_share: float
    load_average: float

    @property
    def frame_fraction(self) -> float:
        """Polls achieved over polls asked (N meters at 1 Hz)."""
        return self.now.polls_s / self.meters


def _spec(workdir: Path, name: str, meters: list[dict[str, Any]], warmup_s: float, duration_s: float) -> Path:
    spec = workdir / f"{name}-poll.json"
    spec.write_text(json.dumps({"meters": meters, "warmup": warmup_s, "duration": duration_s}))
    return spec


def poll_child(spec: Path, timeout_s: float) -> PollFigures:
    out = subprocess.run([*POLL, str(spec)], capture_output=True, text=True, timeout=timeout_s, check=False)
    if out.returncode != 0:
        raise CarbonlabError(f"poller process failed: {out.stderr[-2000:]}")
    return PollFigures.of(json.loads(out.stdout.strip().splitlines()[-1]))


def tcp_point(n: int, workdir: Path, *, register_map: str = "t100", warmup_s: float = 5.0,
              duration_s: float = 30.0, baseline_commit: str | None = None) -> TcpPoint:
    meters = tcp_meters(n, register_map)
    timeout_s = warmup_s + duration_s + 120 + n / 10   # loading and closing 5,000 links
    with ServedMeters({"seed": 1, "meters": meters}, workdir, f"tcp{n}",
                      start_timeout_s=120 + n / 10) as served:
        c0, t0 = served.cpu_s(), time.monotonic()
        now = poll_child(_spec(workdir, f"tcp{n}", meters, warmup_s, duration_s), timeout_s)
        meters_share = (served.cpu_s() - c0) / (time.monotonic() - t0)
        load = os.getloadavg()[0]
        before = None
        if baseline_commit is not None:
            spec = _spec(workdir, f"tcp{n}-before", meters, warmup_s, duration_s)
            before = PollFigures.of(baseline.run_at(baseline_commit, "carbonlab.bench.gwpoll",
                                                    [str(spec.resolve())], timeout_s=timeout_s))
    return TcpPoint(n, now, before, meters_share, load)
