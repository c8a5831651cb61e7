"""The live lab the browser tests drive, and one web client per member on it.

TEMPORARY until engineer hci's shared lab fixture (tests/sharedlab.py) lands: this brings up the
mini topology (four members, f = 1, one gateway, two emulated meters; tests/unit/rig/testdata/
mini.yaml) on the local provider under its own lab id and port block (29700-29759), once per
session, and takes it down at the end, also when a test fails. When the shared fixture lands the
`e2e_lab` fixture is replaced by it and this bring-up goes.

Where the lab does not provision the clients itself yet (engineer h16srv's playbook role), each
member's client is started here with `carbonlab client --node URL --genesis G --member ID --key K
--lab-dir D --listen 127.0.0.1:PORT --token-file F --new-token` (ports 29780-29789, the token
file made by the client, 0600) and stopped by its PID at the end.

For working on the tests, `CARBONLAB_E2E_LAB=DIR` attaches to a lab already up from
DIR/topology.yaml and DIR/lab (made by this module's topology) instead of bringing one up and
down; the clients are still started and stopped by the session.

A member's node is killed by the PID in its pidfile (`hosts/<host>/run/node-<id>.pid`); the
lab's supervisor starts it again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MINI = Path(__file__).parents[1] / "unit" / "rig" / "testdata" / "mini.yaml"
LAB_ID = "e2e16"
LAB_BASE_PORT = 29700
CLIENT_BASE_PORT = 29780
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Client:
    """One organisation's web console: its member, role, URL and token."""

    member: str
    role: str
    url: str
    token: str


@dataclass
class E2ELab:
    lab_dir: Path
    topology: Path
    hosts: dict[str, str]                 # member -> host id
    roles: dict[str, str]                 # member -> role
    clients: dict[str, Client] = field(default_factory=dict)

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
        raise LookupError(f"no client of a member with role {role!r} (roles: {sorted(self.roles.values())})")


def _write_topology(path: Path) -> Path:
    doc = yaml.safe_load(MINI.read_text())
    doc["lab_id"] = LAB_ID
    doc["chain_id"] = f"carbonlab-{LAB_ID}"
    doc["local"] = {"base_port": LAB_BASE_PORT, "ports_per_host": 10}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3):
            return True
    except urllib.error.HTTPError:
        return True   # 401 without a token is an answer
    except (OSError, ValueError):
        return False


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def started_clients(lab: E2ELab, node_urls: dict[str, str], work: Path) -> Iterator[None]:
    """`carbonlab client` for each member, on ports 29780+; stopped by PID on exit."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    tokens: dict[str, tuple[Path, str]] = {}
    try:
        for index, member in enumerate(sorted(node_urls)):
            token_file = work / f"client-{member}.token"
            token_file.unlink(missing_ok=True)
            host = lab.hosts[member]
            port = CLIENT_BASE_PORT + index
            log = (work / f"client-{member}.log").open("wb")
            logs.append(log)
            procs.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "carbonlab"), "client", "--node", node_urls[member],
                 "--genesis", str(lab.lab_dir / "genesis.json"), "--member", member,
                 "--key", str(lab.lab_dir / "hosts" / host / "etc" / "keys" / f"{member}.key"),
                 "--lab-dir", str(lab.lab_dir), "--listen", f"127.0.0.1:{port}",
                 "--token-file", str(token_file), "--new-token"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            tokens[member] = (token_file, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT_S
        for member, (token_file, url) in tokens.items():
            while not _answers(url + "/healthz"):
                if time.monotonic() > deadline:
                    raise AssertionError(f"the client of {member} did not answer at {url} within "
                                         f"{START_TIMEOUT_S:.0f} s; see {work / f'client-{member}.log'}")
                time.sleep(0.5)
            lab.clients[member] = Client(member, lab.roles[member], url, token_file.read_text().strip())
        yield
    finally:
        _stop(procs)
        for log in logs:
            log.close()


@contextlib.contextmanager
def mini_lab(work: Path) -> Iterator[E2ELab]:
    """The mini topology up on the local provider under lab id e2e16; down at the end."""
    from carbonlab.lab import topology
    from carbonlab.lab.lifecycle import Lab
    from carbonlab.rig.labbind import bind_lab

    attach = os.environ.get("CARBONLAB_E2E_LAB")
    if attach:
        work = Path(attach)
    topo_path = work / "topology.yaml" if attach else _write_topology(work / "topology.yaml")
    topo = topology.load(topo_path)
    lab_dir = work / "lab"
    lab = Lab(topo, lab_dir, "local", progress=lambda _line: None)
    try:
        if not attach:
            lab.up(health_timeout_s=300)
        bound = bind_lab(topo_path, lab_dir)
        try:
            node_urls = {m: ref.url for m, ref in bound.ctx.nodes.items()}
        finally:
            bound.close()
        handle = E2ELab(lab_dir, topo_path, {m.id: m.host for m in topo.members},
                        {m.id: str(getattr(m.role, "value", m.role)) for m in topo.members})
        with started_clients(handle, node_urls, work):
            yield handle
    finally:
        if not attach:
            lab.down()
