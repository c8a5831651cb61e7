"""Whose are a local lab's loopback ports before `up` starts its services?

On `local` every lab of a port block shares 127.0.0.1: a second lab directory of the same
topology (another clone's demo, a copied topology) or any program on one of its ports would
make `up` start services that cannot bind, while the playbook's wait for a listening port and
the health checks are answered by the other lab's services, so `up` said healthy of a lab
that was not running. `check_ports_free` refuses such a plan before anything is made, naming
the port, its service, the process that holds it and, for another lab's service, that lab's
directory and the command that takes it down. A port held by this lab's own process (a
converging `up`) is fine. Holders are found through /proc/net/tcp{,6} and the processes'
open sockets; another user's process shows as a PID-less holder.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from carbonlab.lab.errors import TopologyError
from carbonlab.lab.ports import PortPlan
from carbonlab.lab.proc import lab_processes
from carbonlab.lab.topology import Topology

TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


@dataclass(frozen=True)
class PortHolder:
    pid: int | None          # None: a socket of a process this user cannot see
    cmdline: str


@dataclass(frozen=True)
class HeldPort:
    host: str
    service: str
    address: str
    port: int
    holders: tuple[PortHolder, ...]


def in_use(address: str, port: int) -> bool:
    """Whether binding `address:port` fails because something holds it (TIME_WAIT does not)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _inodes(port: int) -> set[str]:
    """The inodes of the TCP sockets bound to `port` on any address."""
    found: set[str] = set()
    for table in TCP_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                found.add(fields[9])
    return found


def holders(port: int) -> tuple[PortHolder, ...]:
    """The processes holding a socket bound to `port` (one PID-less entry for sockets whose
    process this user cannot see)."""
    wanted = {f"socket:[{inode}]" for inode in _inodes(port)}
    found: list[PortHolder] = []
    seen: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not wanted - seen:
            break
        if not proc.name.isdigit():
            continue
        mine = _sockets(proc) & wanted
        if mine:
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmdline = ""
            found.append(PortHolder(int(proc.name), cmdline.strip()))
            seen |= mine
    if wanted - seen or not wanted:
        found.append(PortHolder(None, ""))
    return tuple(found)


def _sockets(proc: Path) -> set[str]:
    """The targets of a process's open descriptors (those that vanish meanwhile, such as the
    listing's own, are skipped; an unreadable process gives none)."""
    try:
        fds = os.listdir(proc / "fd")
    except OSError:
        return set()
    out = set()
    for fd in fds:
        try:
            out.add(os.readlink(proc / "fd" / fd))
        except OSError:
            continue
    return out


def lab_dir_of(cmdline: str) -> Path | None:
    """The lab directory a service's command line names (`.../LAB/hosts/HOST/...`, a directory
    holding a lab's state.json), or None."""
    for word in cmdline.split():
        head, sep, _ = word.partition("/hosts/")
        if sep and head.startswith("/") and (Path(head) / "state.json").is_file():
            return Path(head)
    return None


def held_ports(ports: PortPlan, lab_dir: Path) -> list[HeldPort]:
    """The plan's ports that something other than this lab's own processes holds."""
    ours: set[int] | None = None
    out = []
    for (host, service), port in sorted(ports.ports.items(), key=lambda kv: kv[1]):
        address = ports.address(host)
        if not in_use(address, port):
            continue
        if ours is None:
            ours = {pid for pid, _ in lab_processes(lab_dir)}
        found = holders(port)
        if all(h.pid in ours for h in found):
            continue
        out.append(HeldPort(host, service, address, port, found))
    return out


def check_ports_free(topo: Topology, ports: PortPlan, lab_dir: Path) -> None:
    """Refuse (TopologyError on `local.base_port`) a loopback plan with a port held by anything
    but this lab's own processes."""
    held = held_ports(ports, lab_dir)
    if not held:
        return
    first = held[0]
    by = "; ".join(f"PID {h.pid} ({_short(h.cmdline)})" if h.pid is not None
                   else "a socket of no process this user can see" for h in first.holders)
    more = f" (and {len(held) - 1} more of its ports: {', '.join(str(h.port) for h in held[1:6])}" \
           f"{' ...' if len(held) > 6 else ''})" if len(held) > 1 else ""
    other = next((d for h in held for p in h.holders if (d := lab_dir_of(p.cmdline)) is not None
                  and d.resolve() != lab_dir.resolve()), None)
    if other is not None:
        advice = (f"they are the services of the lab in {other}: take it down first "
                  f"(`carbonlab lab down --lab-dir {other}`) or choose another base_port")
    else:
        advice = "stop that program or choose a base_port whose block is free"
    raise TopologyError(topo.path, "local.base_port",
                        f"port {first.port} ({first.service} of {first.host}) on {first.address} is "
                        f"in use by {by}{more}: the lab's services could not listen there, and "
                        f"whatever holds them would answer the lab's health checks; {advice}")


def _short(cmdline: str, limit: int = 160) -> str:
    return cmdline if len(cmdline) <= limit else cmdline[:limit - 3] + "..."
