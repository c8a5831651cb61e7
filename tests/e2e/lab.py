"""The live lab the browser tests drive: the session's shared lab (tests/sharedlab.py, fixture
`shared_lab`: the mini topology, four members, f = 1, on the local provider), with the web
console of each member as the lab provisions it (the playbooks' `client` role: one console per
member on the last port of the member's local block, its token made 0600 in the lab directory).

`E2ELab` is what a browser test needs of it: each organisation's console (URL, token, role)
and a member node's PID (from its pidfile `hosts/<host>/run/node-<id>.pid`, to SIGKILL it;
the lab's supervisor starts it again). The shared lab's rules apply (its module docstring):
compare against what you read at your start, and leave the lab healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.sharedlab import SharedLab


@dataclass(frozen=True)
class Client:
    """One organisation's web console: its member, role, URL and token."""

    member: str
    role: str
    url: str
    token: str


@dataclass(frozen=True)
class E2ELab:
    lab_dir: Path
    hosts: dict[str, str]                 # member -> host id
    clients: dict[str, Client]            # member -> its console

    def node_pid(self, member: str) -> int | None:
        pidfile = self.lab_dir / "hosts" / self.hosts[member] / "run" / f"node-{member}.pid"
        try:
            return int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def client_for(self, role: str) -> Client:
        for client in self.clients.values():
            if client.role == role:
                return client
        raise LookupError(f"no console of a member with role {role!r} "
                          f"(roles: {sorted(c.role for c in self.clients.values())})")


def consoles(lab: SharedLab) -> E2ELab:
    """The shared lab's consoles, as the port plan and the lab directory say."""
    from carbonlab.lab.names import client_token_file

    ports = lab.lab.ports()
    clients = {m.id: Client(m.id, m.role, ports.url(m.host, f"{m.id}-client"),
                            client_token_file(lab.lab_dir, m.id).read_text().strip())
               for m in lab.members.values()}
    return E2ELab(lab.lab_dir, {m.id: m.host for m in lab.members.values()}, clients)
