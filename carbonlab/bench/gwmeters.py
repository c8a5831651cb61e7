"""Emulated TCP meters for `bench gateway`: addresses, file descriptors and the serving process.

Many meters need many ports and descriptors. The ports are taken below the kernel's
ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), where no outgoing connection of
another program on the machine can be given one between our probe and the meters process's
listen; each is probed by binding it on 127.0.0.1. The soft RLIMIT_NOFILE is raised to the
hard limit for this process and its children (the meters process holds a listening and an
accepted socket per meter, the poller one socket per meter), and the bench says so.

`ServedMeters` is one `carbonlab meters serve` child, started and stopped by its PID, its
start awaited with a timeout.
"""

from __future__ import annotations

import resource
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from carbonlab.bench.proccpu import cpu_seconds
from carbonlab.errors import CarbonlabError
from carbonlab.loopback import free_loopback_ports

SERVE = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())"]


def raise_nofile(needed: int) -> tuple[int, int]:
    """Raise the soft descriptor limit to the hard one; (before, after). Fails, naming both, when
    even the hard limit is below `needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if target < needed:
        raise CarbonlabError(f"{needed} file descriptors needed, the hard RLIMIT_NOFILE is {hard}: "
                             "raise it (ulimit -Hn) or use fewer meters")
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return soft, target


def tcp_meters(n: int, register_map: str, prefix: str = "m") -> list[dict[str, Any]]:
    """The METERS.yaml / gateway entries of `n` TCP meters at 1 Hz on 127.0.0.1."""
    width = max(3, len(str(n - 1)))
    return [{"id": f"{prefix}{i:0{width}d}", "register_map": register_map, "transport": "tcp",
             "host": "127.0.0.1", "port": port, "device_id": 1, "sample_period_s": 1.0, "timeout_s": 1.0}
            for i, port in enumerate(free_loopback_ports(n))]


class ServedMeters:
    """A `carbonlab meters serve` child for the duration of a `with` block."""

    def __init__(self, doc: dict[str, Any], workdir: Path, name: str, start_timeout_s: float = 300.0) -> None:
        import yaml

        self.config = workdir / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump(doc))
        self.log = workdir / f"{name}.log"
        self.start_timeout_s = start_timeout_s
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([*SERVE, "meters", "serve", "--config", str(self.config),
                                          "--log-level", "warning"],
                                         stdout=subprocess.PIPE, stderr=log, text=True)

    def __enter__(self) -> ServedMeters:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.start_timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("serving"):
            self.__exit__()
            why = "did not start" if ready else f"was not serving after {self.start_timeout_s:.0f} s"
            raise CarbonlabError(f"meters process {why}: {self.log.read_text()[-2000:]}")
        return self

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the meters process has used, from /proc."""
        return cpu_seconds(self.proc.pid)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
