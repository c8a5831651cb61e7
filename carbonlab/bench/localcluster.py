"""A consortium of node processes on 127.0.0.1, for tests and benchmarks.

`LocalCluster.create(root, n)` makes every key (members and gateways), a genesis
naming them, and one NODE.toml per member with free loopback ports; `start`,
`kill` and `stop` manage the `carbonlab node run` processes by the PIDs it started.
`GatewayFeed` produces correctly signed batches (one gateway, its meters, readings
one interval apart) the way a real gateway would.

`create` first brings carbonlab's bytecode up to date (`compile_package`), as the lab does
for the venv it packs for its hosts (`lab/wheelhouse.py`, compileall): with
PYTHONDONTWRITEBYTECODE set, or a checkout nobody has imported from yet, every node process
would otherwise compile carbonlab's sources again at its start (0.15-0.3 s of CPU each, issue
17's start-up). A stale .pyc is never used: Python checks it against the source's mtime and
size.
"""

from __future__ import annotations

import compileall
import gc
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import multiaddr

from carbonlab.bench.proccpu import cpu_seconds
from carbonlab.fields import HostPort
from carbonlab.loopback import free_loopback_ports
from carbonlab.node import emissions
from carbonlab.node.config import DEFAULT_MAX_PENDING_BATCHES, NodeConfig
from carbonlab.node.crypto import Signer
from carbonlab.node.errors import NodeError
from carbonlab.node.genesis import ROLES, Genesis
from carbonlab.node.model import Basis, Batch, DataFlag, Reading
from carbonlab.node.organisation import companies_json, derived
from carbonlab.node.p2p.identity import peer_id_text
from carbonlab.node.p2p.settings import P2PSettings

T0 = 1_700_000_040
CLI = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"]


def compile_package() -> bool:
    """Write the .pyc of every carbonlab module whose bytecode is missing or stale; False if
    some could not be written (a read-only install: the nodes then compile at their start)."""
    import carbonlab

    return bool(compileall.compile_dir(Path(carbonlab.__file__).parent, quiet=2))


@dataclass
class GatewayFeed:
    """One gateway's stream of valid signed batches (one batch in flight at a time)."""

    chain_id: str
    gateway_id: str
    signer: Signer
    meters: tuple[str, ...]
    batch_seq: int = 0
    reading_seq: dict[str, int] = field(default_factory=dict)

    def next_batch(self, per_meter: int = 1) -> Batch:
        self.batch_seq += 1
        readings = []
        for meter in self.meters:
            for _ in range(per_meter):
                seq = self.reading_seq.get(meter, 0) + 1
                self.reading_seq[meter] = seq
                wobble = (seq * 7919 % 101) / 1000.0
                co2_pct, flow = 11.0 + wobble, 120.0 + 10 * wobble
                kg = emissions.co2_mass_kg(co2_pct, "wet", 8.0, flow, 140.0, 100.5, 60)
                readings.append(Reading(meter, seq, T0 + 60 * (seq - 1), 60, co2_pct, Basis.WET, 6.0, 8.0,
                                        flow, 140.0, 100.5, 60, DataFlag.NORMAL, kg))
        return Batch(self.chain_id, self.gateway_id, self.batch_seq, tuple(readings)).signed(self.signer)


@dataclass
class LocalCluster:
    root: Path
    genesis: Genesis
    p2p_ports: dict[str, int]
    api_ports: dict[str, int]
    gateway_keys: dict[str, Signer]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, n: int = 7, *, gateways: int = 4, meters_per_gateway: int = 2,
               params: dict[str, int] | None = None, chain_id: str = "carbonlab-local",
               use_cli_keygen: bool = False, ledger_sync: str = "full",
               roles: Sequence[str] | None = None, companies: bool = False,
               max_pending_batches: int = DEFAULT_MAX_PENDING_BATCHES) -> LocalCluster:
        """`roles` (default: genesis's ROLES in turn) gives member i its role; `companies`
        writes genesis's companies section, each company represented by a power-company
        member in turn (what allowance records need)."""
        compile_package()
        root.mkdir(parents=True, exist_ok=True)
        ids = [f"n{i}" for i in range(1, n + 1)]
        ports = free_loopback_ports(2 * n)
        p2p, api = dict(zip(ids, ports[:n], strict=True)), dict(zip(ids, ports[n:], strict=True))
        members = []
        for i, member in enumerate(ids):
            key = root / "keys" / f"{member}.key"
            if use_cli_keygen:
                out = subprocess.run([*CLI, "node", "keygen", "--out", str(key)], check=True,
                                     capture_output=True, timeout=60)
                made = json.loads(out.stdout)
                public, peer = made["public_key"], made["peer_id"]
            else:
                signer = Signer.generate()
                signer.save(key)
                public, peer = signer.public_key.hex(), peer_id_text(signer.public_key)
            role = (roles or ROLES)[i % len(roles or ROLES)]
            members.append({"id": member, "organisation": f"org{i + 1}", "role": role,
                            "public_key": public, "peer_id": peer,
                            "p2p_addr": f"/ip4/127.0.0.1/tcp/{p2p[member]}",
                            "api_url": f"http://127.0.0.1:{api[member]}"})
        gw_keys = {f"gw{g + 1}": Signer.generate() for g in range(gateways)}
        gw_json, meters_json = [], []
        for g, (gw, signer) in enumerate(gw_keys.items()):
            own = [f"m{g * meters_per_gateway + k + 1}" for k in range(meters_per_gateway)]
            gw_json.append({"id": gw, "public_key": signer.public_key.hex(), "meters": own})
            meters_json += [{"id": m, "company": f"company{g % 2 + 1}", "plant": f"plant{g + 1}",
                             "unit": f"unit{k + 1}", "stack": f"stack{k + 1}"} for k, m in enumerate(own)]
        f = (n - 1) // 3
        hierarchy = derived([(m["company"], m["plant"], m["unit"]) for m in meters_json],
                            [m["id"] for m in members if m["role"] == "power-company"])
        genesis = Genesis.from_json({"chain_id": chain_id, "n": n, "f": f, "params": params or {},
                                     "members": members, "gateways": gw_json, "meters": meters_json,
                                     **({"companies": companies_json(hierarchy)} if companies else {})})
        genesis.save(root / "genesis.json")
        for member in ids:
            path = root / f"{member}.toml"
            path.write_text(NodeConfig(
                path=path, member_id=member, key_file=root / "keys" / f"{member}.key",
                genesis_file=root / "genesis.json", data_dir=root / "data" / member,
                p2p_listen=multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{p2p[member]}"),
                api_listen=HostPort("127.0.0.1", api[member]), log_level="info", ledger_sync=ledger_sync,
                max_pending_batches=max_pending_batches, peer_addrs={},
                p2p=P2PSettings()).to_toml())
        return cls(root, genesis, p2p, api, gw_keys)

    @property
    def members(self) -> tuple[str, ...]:
        return self.genesis.member_ids

    def url(self, member: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[member]}"

    def api_address(self, member: str) -> tuple[str, int]:
        return "127.0.0.1", self.api_ports[member]

    def feeds(self) -> list[GatewayFeed]:
        return [GatewayFeed(self.genesis.chain_id, g.id, self.gateway_keys[g.id], g.meters)
                for g in self.genesis.gateways]

    def start(self, member: str) -> None:
        if member in self.procs and self.procs[member].poll() is None:
            raise NodeError(f"{member} is already running")
        log = (self.root / f"{member}.log").open("ab")
        self.procs[member] = subprocess.Popen(
            [*CLI, "node", "run", "--config", str(self.root / f"{member}.toml")],
            stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()

    def start_all(self) -> None:
        for member in self.members:
            self.start(member)

    def kill(self, member: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(member, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)

    def stop(self) -> None:
        for member in list(self.procs):
            self.kill(member, signal.SIGTERM)

    def running(self) -> list[str]:
        return [m for m, p in self.procs.items() if p.poll() is None]

    def cpu_seconds(self) -> float:
        """CPU seconds the running members' node processes have used so far (/proc)."""
        return sum(cpu_seconds(p.pid) for p in self.procs.values() if p.poll() is None)

    @contextmanager
    def serving(self, timeout_s: float = 90.0) -> Iterator[LocalCluster]:
        """Every member started and ready for the block's duration, stopped after it (also when it
        fails); the stopped processes' pipes are collected quietly."""
        self.start_all()
        try:
            self.wait_ready(timeout_s=timeout_s)
            yield self
        finally:
            self.stop()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    def status(self, member: str, timeout_s: float = 2.0) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"{self.url(member)}/v1/status", timeout=timeout_s)
            return dict(r.json()) if r.status_code == 200 else None
        except httpx.HTTPError:
            return None

    def wait_ready(self, members: list[str] | None = None, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        for member in members or list(self.members):
            while self.status(member) is None:
                proc = self.procs.get(member)
                if proc is not None and proc.poll() is not None:
                    raise NodeError(f"{member} exited with {proc.returncode}; see {self.root}/{member}.log")
                if time.monotonic() > deadline:
                    raise NodeError(f"{member} did not start within {timeout_s} s")
                time.sleep(0.2)

    def wait_linked(self, members: list[str] | None = None, timeout_s: float = 60.0) -> None:
        """Wait until each of `members` reports every other one of them connected over p2p."""
        names = members or list(self.members)
        deadline = time.monotonic() + timeout_s
        for member in names:
            while not set(names) - {member} <= set((self.status(member) or {}).get("peers_connected", [])):
                if time.monotonic() > deadline:
                    raise NodeError(f"{member} not linked to all of {names} within {timeout_s} s")
                time.sleep(0.2)

    def wait_height(self, height: int, members: list[str], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            heights = {m: (s or {}).get("height", -1) for m in members for s in [self.status(m)]}
            if all(h >= height for h in heights.values()):
                return
            if time.monotonic() > deadline:
                raise NodeError(f"height {height} not reached within {timeout_s} s: {heights}")
            time.sleep(0.2)
