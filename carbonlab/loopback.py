"""Ports of 127.0.0.1 for services started on this machine, and the kernel's ephemeral range.

The kernel takes the local port of every outgoing connection from its ephemeral range
(`/proc/sys/net/ipv4/ip_local_port_range`). A port in that range that is free now can be held
a moment later by a connection of any process, the cluster's own dialling its peers included,
so a service told to listen there can fail to start, at random. A port asked of the kernel by
binding port 0 lies in that range; the ports here lie below it, where only another listener
can take one, and the probe sees those. Shared: the lab's port plan checks its block against
the range, benches and tests take their ports here.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

from carbonlab.errors import CarbonlabError

PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_EPHEMERAL = (32768, 60999)     # Linux's default, where the file cannot be read
LOW_PORT = 10_000                    # where `free_loopback_ports` starts looking


def ephemeral_range(path: Path = PORT_RANGE_FILE) -> tuple[int, int]:
    """(first, last) port the kernel may give an outgoing connection on this machine."""
    try:
        lo, hi = path.read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return LINUX_EPHEMERAL


def free_loopback_ports(n: int, rng: random.Random | None = None) -> list[int]:
    """`n` ports of 127.0.0.1 that bind now, below the ephemeral range, from a random start.

    For services started a moment later (a bench's nodes, a test's meters): a port the kernel
    handed out for binding to port 0 lies in the ephemeral range, where an outgoing connection
    of any process (the cluster's own, dialling its peers) can take it before the service
    binds it; below the range only another listener can, and the probe sees those."""
    lo = LOW_PORT
    hi = ephemeral_range()[0] - 1
    if hi - lo + 1 < n:
        raise CarbonlabError(f"{n} ports wanted, only {hi - lo + 1} below the ephemeral range")
    start = (rng or random.Random()).randrange(lo, hi + 1)
    ports: list[int] = []
    for k in range(hi - lo + 1):
        port = lo + (start - lo + k) % (hi - lo + 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    raise CarbonlabError(f"only {len(ports)} free ports of the {n} wanted below {hi + 1}")


def free_loopback_port() -> int:
    """One port as `free_loopback_ports` gives them."""
    return free_loopback_ports(1)[0]
