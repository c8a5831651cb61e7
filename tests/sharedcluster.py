"""One live 4-node cluster for the whole pytest session: the fixture `shared_cluster`.

Theory of operation. Starting a `LocalCluster` (four `carbonlab node run` processes over
libp2p, real SQLite ledgers, real HTTP APIs) costs 20-50 s on the CI machine, and several
modules only need *a* cluster to read and write their own data through (the API's routes,
allowance records, the application pages, the report's node source). So the session starts
one, on first use, and those modules share it:

- members (roles in this order): n1 power-company (represents every company), n2
  emission-management, n3 verifier, n4 trading-centre; n = 4, f = 1;
- genesis has gateways gw1 .. gw{GATEWAYS} (`GATEWAYS`), two meters each (units unit1 and
  unit2 of one plant); gw1's meters are company1's (plant1, units with capacity, minimum and
  ramp for planning), gw2's company2's (plant2, no unit limits): the companies the application
  pages use (`APPS_COMPANIES`); every other gateway gwG is the only gateway of its own company
  tenantG (plantG), handed out by `claim`;
- isolation: a module claims the gateways it submits readings through (`claim(owner, count)`,
  module-scoped in the module's fixture) and gets their feeds (sequence numbers start at 1,
  nobody else submits for them) and their companies; readings, emissions and allowance
  records of one module's companies are then never touched by another. A module that asks for
  more gateways than are left is told so, naming the owners;
- collection moves every test that uses `shared_cluster` after the others (and before the
  users of the shared lab, which tests/sharedlab.py moves to the very end), in the order they
  were collected, and the cluster is stopped in the teardown of its last user, so it runs only
  while its users run (idle members still cost CPU on a 2-core machine);
- it is stopped (the processes it started, by PID) and its directory removed also when a test
  fails, on Ctrl-C, and on SIGTERM (turned into KeyboardInterrupt while it is up);
- before each test that uses it every member's process must be running (started by
  `wait_ready` answering its status once); after the test too, and a test that left a member
  down errors in its teardown, naming the member.

Rules for a test that uses it: submit only through the gateways you claimed, sign allowance
records for your own companies only (seq: the time in µs, as the CLI does, so one signer's
records of several modules stay increasing), compare heights and counts with what you read at
your start, and never kill, restart or reconfigure a member: a module that does keeps a
cluster of its own (tests/integration/client/conftest.py's `cluster`, the node crash tests).
Registered by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import signal
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:   # the plugin is loaded in every run: nothing heavy at import
    from carbonlab.bench.localcluster import GatewayFeed, LocalCluster

FIXTURE = "shared_cluster"
ROLES = ("power-company", "emission-management", "verifier", "trading-centre")   # n1..n4
APPS_GATEWAYS = ("gw1", "gw2")
POOL = 8                      # gateways gw3.. handed out by `claim`, one company each
GATEWAYS = len(APPS_GATEWAYS) + POOL
CHAIN_ID = "carbonlab-shared-cluster"
START_S = 180.0               # every member answers its status within this after start (loaded CI: 70 s seen)
APPS_COMPANIES: list[dict[str, Any]] = [
    {"id": "company1", "name": "Company One", "member": "n1", "plants": [
        {"id": "plant1", "name": "Plant 1", "units": [
            {"id": "unit1", "name": "U1", "capacity_mw": 300.0, "min_mw": 100.0, "ramp_mw_per_h": 200.0},
            {"id": "unit2", "name": "U2", "capacity_mw": 200.0, "min_mw": 50.0, "ramp_mw_per_h": 150.0}]}]},
    {"id": "company2", "name": "Company Two", "member": "n1", "plants": [
        {"id": "plant2", "name": "Plant 2",
         "units": [{"id": "unit1", "name": "U1"}, {"id": "unit2", "name": "U2"}]}]},
]
_LAST_USER = pytest.StashKey[str]()
_SESSION = pytest.StashKey["_Session"]()


@dataclass(frozen=True)
class Claim:
    """What one module owns on the shared cluster: gateways (with fresh feeds) and their companies."""

    owner: str
    feeds: tuple[GatewayFeed, ...]
    companies: tuple[str, ...]     # companies[i] is the company of feeds[i]'s meters


@dataclass
class SharedCluster:
    """The typed handle the fixture yields: the running cluster and its gateway pool."""

    cluster: LocalCluster
    claimed: dict[str, str] = field(default_factory=dict)     # gateway id -> owner

    def claim(self, owner: str, count: int = 1, gateways: tuple[str, ...] | None = None) -> Claim:
        """`count` unclaimed pool gateways (or exactly `gateways`) for `owner`; ValueError naming
        who holds them when they are taken or the pool is exhausted."""
        if gateways is None:
            free = [f"gw{g}" for g in range(len(APPS_GATEWAYS) + 1, GATEWAYS + 1)
                    if f"gw{g}" not in self.claimed]
            if len(free) < count:
                raise ValueError(f"{owner} asks for {count} gateways of the shared cluster, {len(free)} are "
                                 f"left (held: {self.claimed}); raise tests/sharedcluster.py's POOL")
            gateways = tuple(free[:count])
        taken = {g: self.claimed[g] for g in gateways if g in self.claimed}
        if taken:
            raise ValueError(f"{owner} asks for gateways already claimed: {taken}")
        feeds = {f.gateway_id: f for f in self.cluster.feeds()}
        unknown = [g for g in gateways if g not in feeds]
        if unknown:
            raise ValueError(f"{owner} asks for gateways genesis does not name: {unknown}")
        self.claimed.update(dict.fromkeys(gateways, owner))
        company = {m.id: m.company for m in self.cluster.genesis.meters}
        return Claim(owner, tuple(feeds[g] for g in gateways),
                     tuple(company[feeds[g].meters[0]] for g in gateways))

    def down(self) -> list[str]:
        """The members whose process is not running (killed, exited, or never started). A process
        check, not an HTTP one: it runs around every user, and on a loaded machine four status
        calls cost seconds each time."""
        running = set(self.cluster.running())
        return [m for m in self.cluster.members if m not in running]


def company_of(gateway: str) -> str:
    """gw1 and gw2: company1 and company2; pool gateway gwG: tenantG (no name a test uses for a
    company genesis does not know, such as company9)."""
    number = gateway.removeprefix("gw")
    return f"company{number}" if gateway in APPS_GATEWAYS else f"tenant{number}"


def make_genesis(cluster: LocalCluster) -> LocalCluster:
    """Rewrite genesis.json (before any node starts): gateway gwG's meters are `company_of(gwG)`'s,
    and the companies section names them all (company1 and company2 as the application pages
    need)."""
    from carbonlab.node.genesis import Genesis

    path = cluster.root / "genesis.json"
    raw = json.loads(path.read_text())
    gateway_of = {m: gw["id"] for gw in raw["gateways"] for m in gw["meters"]}
    for meter in raw["meters"]:
        meter["company"] = company_of(gateway_of[meter["id"]])
    pool = [{"id": company_of(f"gw{g}"), "name": f"Tenant {g}", "member": "n1", "plants": [
        {"id": f"plant{g}", "name": f"Plant {g}",
         "units": [{"id": "unit1", "name": "U1"}, {"id": "unit2", "name": "U2"}]}]}
        for g in range(len(APPS_GATEWAYS) + 1, GATEWAYS + 1)]
    raw["companies"] = APPS_COMPANIES + pool
    genesis = Genesis.from_json(raw)
    genesis.save(path)
    return dataclasses.replace(cluster, genesis=genesis)


@pytest.hookimpl(trylast=True)   # after -k/-m deselection: the list as it will run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    def uses(item: pytest.Item, name: str) -> bool:
        return name in getattr(item, "fixturenames", ())

    users = [i for i in items if uses(i, FIXTURE)]
    if not users:
        return
    lab_users = [i for i in items if uses(i, "shared_lab") and not uses(i, FIXTURE)]
    others = [i for i in items if not uses(i, FIXTURE) and not uses(i, "shared_lab")]
    items[:] = others + users + lab_users


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the last user in the final order (after every plugin's reordering)."""
    users = [i.nodeid for i in session.items if FIXTURE in getattr(i, "fixturenames", ())]
    if users:
        session.config.stash[_LAST_USER] = users[-1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if item.nodeid == item.config.stash.get(_LAST_USER, None):
        opened = item.config.stash.get(_SESSION, None)
        if opened is not None:
            opened.close()   # its last user is done: stop it now, not at the session's end


class _Session:
    """The cluster as the session holds it: started once, stopped and removed once."""

    def __init__(self) -> None:
        self.shared: SharedCluster | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._previous_sigterm: Any = None
        self.closed = False

    def open(self) -> SharedCluster:
        from carbonlab.bench.localcluster import LocalCluster

        try:
            self._trap_sigterm()
            self._tmp = tempfile.TemporaryDirectory(prefix="clcluster")
            cluster = make_genesis(LocalCluster.create(Path(self._tmp.name) / "c", 4, gateways=GATEWAYS,
                                                       roles=ROLES, chain_id=CHAIN_ID))
            self.shared = SharedCluster(cluster)
            cluster.start_all()
            cluster.wait_ready(timeout_s=START_S)
            return self.shared
        except BaseException:
            self.close()
            raise

    def _trap_sigterm(self) -> None:
        def interrupt(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            raise KeyboardInterrupt("SIGTERM: stopping the shared cluster")

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.shared is not None:
                self.shared.cluster.stop()
                with warnings.catch_warnings():   # the stopped processes' pipes, collected quietly
                    warnings.simplefilter("ignore", ResourceWarning)
                    gc.collect()
        finally:
            try:
                if self._tmp is not None:
                    self._tmp.cleanup()
            finally:
                if self._previous_sigterm is not None:
                    signal.signal(signal.SIGTERM, self._previous_sigterm)


@pytest.fixture(scope="session")
def shared_cluster(pytestconfig: pytest.Config) -> Iterator[SharedCluster]:
    """The session's 4-node cluster; see the module docstring. Session-scoped, so that a module's
    fixtures (a module's claim, its consoles) can use it."""
    opened = _Session()
    pytestconfig.stash[_SESSION] = opened
    try:
        yield opened.open()
    finally:
        opened.close()


@pytest.fixture(autouse=True)
def _shared_cluster_health(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a test that uses the shared cluster: every member answers before it, and after it
    (a test that left a member down errors in its teardown, naming it)."""
    if FIXTURE not in request.fixturenames:
        yield
        return
    shared: SharedCluster = request.getfixturevalue(FIXTURE)
    down = shared.down()
    assert not down, f"members of the shared cluster do not answer before the test: {down}"
    yield
    down = shared.down()
    assert not down, f"{request.node.nodeid} left members of the shared cluster down: {down}"
