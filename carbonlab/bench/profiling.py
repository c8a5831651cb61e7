"""`--profile` for the bench commands: where the time goes, printed after the figures.

`cprofile` (always available) runs the measured part under cProfile and prints the top
functions by own time and by cumulative time to stderr (so `--json` output stays one
object); `--profile-out FILE` also saves the raw statistics (`python -m pstats FILE`,
snakeviz). `py-spy`, when the `py-spy` program is installed, samples this very process
from outside while the measured part runs (no instrumentation overhead; native frames of
OpenSSL and SQLite included) and writes a flame graph SVG.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from carbonlab.errors import CarbonlabError


@contextmanager
def profiled(mode: str | None, label: str, out: Path | None = None, top: int = 25) -> Iterator[None]:
    """Profile the block with `mode` (None: not at all) and print what it found, titled `label`."""
    if mode is None:
        yield
        return
    if mode == "py-spy":
        with _py_spy(label, out):
            yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        _print_stats(profile, label, out, top)


def _print_stats(profile: cProfile.Profile, label: str, out: Path | None, top: int) -> None:
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        body = text.getvalue()
        body = body[body.find("   ncalls"):] if "   ncalls" in body else body
        print(f"--- profile of {label}: top {top} functions by {order} ---\n{body}", file=sys.stderr)
    if out is not None:
        profile.dump_stats(out)
        print(f"--- raw statistics: {out} (python -m pstats {out}) ---", file=sys.stderr)


@contextmanager
def _py_spy(label: str, out: Path | None) -> Iterator[None]:
    exe = shutil.which("py-spy")
    if exe is None:
        raise CarbonlabError("--profile py-spy: the py-spy program is not installed "
                             "(pip install py-spy), use --profile cprofile")
    svg = out or Path(f"carbonlab-profile-{label.split()[0]}-{os.getpid()}.svg")
    proc = subprocess.Popen([exe, "record", "--pid", str(os.getpid()), "--native", "--rate", "200",
                             "--output", str(svg), "--format", "flamegraph"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)   # let it attach
    try:
        yield
    finally:
        proc.send_signal(2)   # SIGINT: py-spy writes the flame graph and exits
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=10)
        status = f"flame graph in {svg}" if svg.exists() else f"py-spy failed: {err.decode()[-300:]}"
        print(f"--- profile of {label} (py-spy): {status} ---", file=sys.stderr)
