"""Running commands and ending processes on the controller, by PID only.

`run` gives every command a timeout and says which command failed and why. A PID is
ended only after its start time (field 22 of /proc/PID/stat) matches the one recorded
when it was started, so a recycled PID is never hit.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from carbonlab.lab.errors import ProviderError


def run(argv: Sequence[str], *, timeout_s: float = 60, check: bool = True,
        input_text: str | None = None, env: Mapping[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s,
                              input=input_text, check=False, env=env, cwd=cwd)
    except FileNotFoundError:
        raise ProviderError(f"command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise ProviderError(f"{' '.join(argv)}: no answer within {timeout_s} s") from None
    if check and done.returncode != 0:
        raise ProviderError(f"{' '.join(argv)}: exit {done.returncode}: "
                            f"{(done.stderr or done.stdout).strip()[-400:]}")
    return done


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[19])


def alive(pid: int, started: int | None) -> bool:
    """True while `pid` is the recorded process and has not exited (a zombie has)."""
    now = start_time(pid)
    return now is not None and (started is None or now == started) and not _zombie(pid)


def end(pid: int, started: int | None, *, grace_s: float = 5.0, term: bool = True) -> None:
    """SIGTERM, then SIGKILL after `grace_s` (only SIGKILL when `term` is false); only if `pid`
    is still the process recorded."""
    for sig in (signal.SIGTERM, signal.SIGKILL) if term else (signal.SIGKILL,):
        if not alive(pid, started):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not alive(pid, started):
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def lab_processes(lab_dir: Path) -> list[tuple[int, str]]:
    """(PID, command line) of every process of the lab at `lab_dir`: its command line names the
    directory, or its root is inside it (a netns host). This process and its ancestors (the
    `carbonlab lab ... --lab-dir DIR` that asked) are not counted."""
    mine = _ancestors(os.getpid())
    found: list[tuple[int, str]] = []
    for pid, raw in cmdlines():
        cmdline = raw.strip()
        if pid in mine or not cmdline:
            continue
        try:
            root = str(Path(f"/proc/{pid}/root").readlink())
        except OSError:
            root = ""
        if names_dir(cmdline, lab_dir) or root.startswith(f"{lab_dir}/"):
            found.append((pid, cmdline))
    return sorted(found)


def names_dir(cmdline: str, directory: Path) -> bool:
    """Whether a command line names `directory` or a path inside it, as a whole path: the lab in
    /x/lab is not the one in /x/lab2 (a word of the line begins with the path, or an option's
    value after `=`, and the path ends there or goes on with `/`)."""
    path = re.escape(str(directory).rstrip("/"))
    return re.search(rf"(?:^|[\s=]){path}(?:/|\s|$)", cmdline) is not None


def cmdlines() -> Iterator[tuple[int, str]]:
    """(PID, command line with its NULs as spaces) of every process readable now."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            raw = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        yield int(proc.name), raw.replace(b"\0", b" ").decode(errors="replace")


def _ancestors(pid: int) -> set[int]:
    seen = {pid}
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
        seen.add(pid)
    return seen
