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


def _inodes(ports: set[int]) -> dict[str, int]:
    """Socket inode -> local port, for the TCP sockets bound to any of `ports` on any address."""
    found: dict[str, int] = {}
    for table in TCP_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[9] != "0":
                port = int(fields[1].rsplit(":", 1)[1], 16)
                if port in ports:
                    found[fields[9]] = port
    return found


def holders_of(ports: set[int]) -> dict[int, tuple[PortHolder, ...]]:
    """The processes holding a socket bound to each of `ports`, in one pass over /proc (one
    PID-less entry for sockets whose process this user cannot see)."""
    wanted = {f"socket:[{inode}]": port for inode, port in _inodes(ports).items()}
    found: dict[int, list[PortHolder]] = {port: [] for port in ports}
    seen: set[str] = set()
    for proc in Path("/proc").iterdir():
        if len(seen) == len(wanted):
            break
        if not proc.name.isdigit():
            continue
        mine = _sockets(proc) & wanted.keys()
        if mine:
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmdline = ""
            for port in sorted({wanted[link] for link in mine}):
                found[port].append(PortHolder(int(proc.name), cmdline.strip()))
            seen |= mine
    unseen = {wanted[link] for link in wanted.keys() - seen}
    return {port: tuple(found[port]) + ((PortHolder(None, ""),) if port in unseen or not found[port] else ())
            for port in ports}


def holders(port: int) -> tuple[PortHolder, ...]:
    """The processes holding a socket bound to `port` (see `holders_of`)."""
    return holders_of({port})[port]


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
    taken = [(host, service, ports.address(host), port)
             for (host, service), port in sorted(ports.ports.items(), key=lambda kv: kv[1])
             if in_use(ports.address(host), port)]
    if not taken:
        return []
    ours = {pid for pid, _ in lab_processes(lab_dir)}
    found = holders_of({port for *_, port in taken})
    return [HeldPort(host, service, address, port, found[port]) for host, service, address, port in taken
            if not all(h.pid in ours for h in found[port])]


def check_ports_free(topo: Topology, ports: PortPlan, lab_dir: Path) -> None:
    """Refuse (TopologyError on `local.base_port`) a loopback plan with a port held by anything
    but this lab's own processes."""
    held = held_ports(ports, lab_dir)
    if not held:
        return
    groups: dict[tuple[PortHolder, ...], list[HeldPort]] = {}
    for h in held:                  # each port under its own holders, in port order
        groups.setdefault(h.holders, []).append(h)
    said = [_held_by(group) for group in groups.values()]
    other = next((d for h in held for p in h.holders if (d := lab_dir_of(p.cmdline)) is not None
                  and d.resolve() != lab_dir.resolve()), None)
    if other is not None:
        advice = (f"they are the services of the lab in {other}: take it down first "
                  f"(`carbonlab lab down --lab-dir {other}`) or choose another base_port")
    else:
        advice = "stop that program or choose a base_port whose block is free"
    raise TopologyError(topo.path, "local.base_port",
                        f"{'; '.join(said[:4])}{'; ...' if len(said) > 4 else ''}: the lab's services "
                        "could not listen there, and "
                        f"whatever holds them would answer the lab's health checks; {advice}")


def _held_by(group: list[HeldPort]) -> str:
    """`port P (SERVICE of HOST) on ADDRESS is in use by PID N (...)`, and the group's other
    ports: they have the same holders."""
    first, rest = group[0], group[1:]
    by = " and ".join(f"PID {h.pid} ({_short(h.cmdline)})" if h.pid is not None
                   else "a socket of no process this user can see" for h in first.holders)
    whose = "such" if any(h.pid is None for h in first.holders) else "of its"
    more = (f" (and {len(rest)} more {whose} ports: {', '.join(str(h.port) for h in rest[:5])}"
            f"{' ...' if len(rest) > 5 else ''})") if rest else ""
    return f"port {first.port} ({first.service} of {first.host}) on {first.address} is in use by {by}{more}"


def _short(cmdline: str, limit: int = 160) -> str:
    return cmdline if len(cmdline) <= limit else cmdline[:limit - 3] + "..."
