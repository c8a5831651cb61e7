"""One live lab for the whole pytest session: the fixture `shared_lab`.

Theory of operation. Bringing a lab up (hosts, the Ansible playbook, genesis, health) costs
minutes on the CI machine; most slow tests only need *a* running lab to look at (the rig's
scenarios, the browser tests of the web client, reports built on a live ledger). So the
session brings one up, on first use, and every such test shares it:

- the lab is the mini topology (`tests/unit/rig/testdata/mini.yaml`: four members, f = 1, one
  edge gateway, two emulated meters, genco-a represented by n1) on the `local` provider, so
  no root is needed; it runs in a temporary lab directory of the session;
- collection moves every test that uses `shared_lab` to the end of the session, in the order
  it was collected, so the lab is up only while its users run (a running lab costs CPU that
  the rest of the suite would otherwise share on a 2-core machine): pytest finalises the
  session fixture in the last item's teardown, which is the last user's;
- it is taken down at the end also when a test fails, when the run is stopped with Ctrl-C
  (SIGINT) or SIGTERM (turned into KeyboardInterrupt while the lab is up, so pytest's own
  teardown runs), and when bringing it up fails half-way;
- before each test that uses it, the lab is checked healthy (every node answers, heights
  within 2 blocks, gateways and meter hosts answer), waiting up to `HEALTHY_AGAIN_S` for it;
  after the test it is checked again and a test that left it unhealthy errors in teardown,
  naming what is wrong, so the damage is charged to the test that did it.

Rules for a test that uses it:

1. Look, don't own: read the ledger and the APIs, submit records, run scenarios. Do not
   take the lab down, change its topology, or delete its files.
2. What you disturb you restore before you return: a killed or paused service is brought
   back (the lab's supervisor restarts a killed child by itself; wait for health with
   `shared_lab.wait_healthy()`), faults are applied through a `FaultJournal` and healed
   (`journal.heal_all()`), a tampered ledger is restored by its fault's inverse.
3. Do not assume a fresh chain: other tests ran before yours and committed blocks and
   readings; compare against what you read at your start (heights, counts), never against
   absolute numbers.
4. Tests proving a provider (netns, ssh, the non-root local path) or `lab up`/`down`
   themselves still bring up labs of their own: this lab proves nothing about those.

Options (for running the users in parallel worktrees, or keeping the lab between runs):
`--shared-lab-base-port N` (default: the topology's 23400) and `--shared-lab-id ID` move the
lab off another one's ports and names (it refuses, naming the port, to come up where one of
its ports is taken: another lab there would answer its health checks); `--shared-lab-dir DIR`
uses the lab already healthy in DIR (and leaves it running), or brings one up there and
leaves it running for the next run. Registered by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:   # the plugin is loaded in every run: nothing heavy at import
    from carbonlab.lab.lifecycle import Lab
    from carbonlab.lab.topology import Topology
    from carbonlab.rig.labbind import RigLab

SHARED_TOPOLOGY = Path(__file__).parent / "unit" / "rig" / "testdata" / "mini.yaml"
FIXTURE = "shared_lab"
UP_HEALTH_S = 300.0      # the lab must be healthy this long after its playbook ran
HEALTHY_AGAIN_S = 120.0  # before and after each test: a restarted node catches up within this
GONE_S = 30.0            # after `down`, the lab's last processes end within this


class SharedLabError(RuntimeError):
    """The shared lab cannot be brought up here (its ports are taken); the machine's state,
    not the test's fault."""


@dataclass(frozen=True)
class SharedMember:
    """One member of the shared lab as a test reaches it."""

    id: str
    organisation: str
    role: str
    host: str
    api_url: str        # http://127.0.0.1:<port>, the member's node API
    key: Path           # its Ed25519 private key (readable: the local provider's hosts are this machine)
    public_key: Path    # the public half as JSON (`carbonlab node keygen`'s output)


@dataclass(frozen=True)
class SharedLab:
    """The typed handle the fixture yields."""

    lab_dir: Path
    topology_path: Path          # the file the lab was brought up from (ports and id as run)
    topology: Topology
    genesis_path: Path
    members: Mapping[str, SharedMember]
    gateway_keys: Mapping[str, Path]   # gateway id -> its private key
    rig: RigLab                  # the rig's binding: faults, meters, truth logs, outboxes
    lab: Lab                     # the lifecycle object (health); do not call up/down on it

    def api_url(self, member: str) -> str:
        return self.members[member].api_url

    def health(self) -> tuple[bool, str]:
        """One look: (healthy, why not / what it saw)."""
        from carbonlab.lab import health
        return health.gather(self.topology, self.lab.ports()).healthy()

    def wait_healthy(self, timeout_s: float = HEALTHY_AGAIN_S) -> None:
        """Return once the lab is healthy; AssertionError naming what is wrong after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            ok, reason = self.health()
            if ok:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the shared lab is not healthy after {timeout_s:.0f} s: {reason}")
            time.sleep(1.0)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("carbonlab-shared-lab", "the session's shared live lab (tests/sharedlab.py)")
    group.addoption("--shared-lab-base-port", type=int, default=None, metavar="N",
                    help="first loopback port of the shared lab (default: the topology's)")
    group.addoption("--shared-lab-id", default=None, metavar="ID",
                    help="lab id of the shared lab (default: the topology's)")
    group.addoption("--shared-lab-dir", default=None, metavar="DIR",
                    help="use (or bring up and keep) the shared lab in DIR; it is left running")


@pytest.hookimpl(trylast=True)   # after -k/-m deselection: the list as it will run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    users = [i for i in items if FIXTURE in getattr(i, "fixturenames", ())]
    if not users:
        return
    others = [i for i in items if FIXTURE not in getattr(i, "fixturenames", ())]
    items[:] = others + users   # the last user is the last item: pytest ends the lab right after it


class _Session:
    """The lab as the session holds it: brought up (or found), and closed once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lab: Lab | None = None
        self.rig: RigLab | None = None
        self.keep = config.getoption("--shared-lab-dir") is not None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._previous_sigterm: Any = None
        self.closed = False

    def open(self) -> SharedLab:
        try:
            return self._open()
        except BaseException:
            self.keep = False   # a half-made lab goes down, its directory with it
            self.close()
            raise

    def _open(self) -> SharedLab:
        from carbonlab.lab import topology as topo_mod
        from carbonlab.lab.lifecycle import Lab
        from carbonlab.lab.state import LabState, Phase
        from carbonlab.rig.labbind import bind_lab

        given = self.config.getoption("--shared-lab-dir")
        if given:
            lab_dir = Path(given).resolve()
            lab_dir.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="clshared")
            lab_dir = Path(self._tmp.name)
        topo_path = self._topology_file(lab_dir)
        topo = topo_mod.load(topo_path)
        self._trap_sigterm()
        lab = Lab(topo, lab_dir, "local", progress=lambda _line: None)
        if LabState.load(lab_dir / "state.json").phase != Phase.HEALTHY:
            _ports_free(lab)
            self.lab = lab       # from here on, close() takes it down
            lab.up(health_timeout_s=UP_HEALTH_S)
        else:
            self.lab = lab
        self.rig = bind_lab(topo_path, lab_dir)
        return SharedLab(lab_dir, topo_path, topo, lab_dir / "genesis.json", self._members(lab),
                         self._gateway_keys(lab), self.rig, lab)

    def _topology_file(self, lab_dir: Path) -> Path:
        raw = yaml.safe_load(SHARED_TOPOLOGY.read_text())
        port = self.config.getoption("--shared-lab-base-port")
        lab_id = self.config.getoption("--shared-lab-id")
        if port is not None:
            raw["local"]["base_port"] = port
        if lab_id is not None:
            raw["lab_id"] = lab_id
            raw["chain_id"] = f"carbonlab-{lab_id}"
        out = lab_dir / "topology.yaml"
        out.write_text(yaml.safe_dump(raw, sort_keys=False))
        return out

    @staticmethod
    def _members(lab: Lab) -> dict[str, SharedMember]:
        ports = lab.ports()
        out = {}
        for m in lab.topo.members:
            keys = Path(lab.provider.host_vars(m.host)["carbonlab_etc"]) / "keys"
            out[m.id] = SharedMember(m.id, m.organisation, m.role, m.host, ports.url(m.host, f"{m.id}-api"),
                                     keys / f"{m.id}.key", keys / f"{m.id}.pub.json")
        return out

    @staticmethod
    def _gateway_keys(lab: Lab) -> dict[str, Path]:
        return {g.id: Path(lab.provider.host_vars(g.host)["carbonlab_etc"]) / "keys" / f"{g.id}.key"
                for g in lab.topo.gateways}

    def _trap_sigterm(self) -> None:
        def interrupt(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            raise KeyboardInterrupt("SIGTERM: taking the shared lab down")

        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.rig is not None:
                self.rig.close()
            if self.lab is not None and not self.keep:
                self.lab.down()
                _wait_gone(self.lab.lab_dir)
            if self._tmp is not None:
                self._tmp.cleanup()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)


def _ports_free(lab: Lab) -> None:
    """Refuse, naming the port and its holder, to bring the lab up where something already
    listens (`lab up` refuses too: lab/port_holders.py), saying how to move this one."""
    from carbonlab.lab.errors import TopologyError
    from carbonlab.lab.port_holders import check_ports_free
    try:
        check_ports_free(lab.topo, lab.ports(), lab.lab_dir)
    except TopologyError as exc:
        raise SharedLabError(f"the shared lab cannot come up here: {exc}; give --shared-lab-base-port N "
                             "(and --shared-lab-id ID) to move this one") from None


def _wait_gone(lab_dir: Path) -> None:
    """Wait for the lab's last processes to end after `down`: a command an interrupted playbook
    had started (a key being generated) can outlive it by a moment and still write into the lab
    directory. One still there after `GONE_S` is named (and the directory kept for a look)."""
    from carbonlab.lab.proc import lab_processes
    deadline = time.monotonic() + GONE_S
    while left := lab_processes(lab_dir):
        if time.monotonic() > deadline:
            raise AssertionError(f"the shared lab in {lab_dir} left processes after down: {left}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def _shared_lab_session(pytestconfig: pytest.Config) -> Iterator[SharedLab]:
    opened = _Session(pytestconfig)
    try:
        yield opened.open()
    finally:
        opened.close()


@pytest.fixture
def shared_lab(_shared_lab_session: SharedLab, request: pytest.FixtureRequest) -> Iterator[SharedLab]:
    """The session's live lab, healthy at the start of the test; see the module docstring."""
    _shared_lab_session.wait_healthy()
    yield _shared_lab_session
    try:
        _shared_lab_session.wait_healthy()
    except AssertionError as exc:
        raise AssertionError(f"{request.node.nodeid} left the shared lab unhealthy: {exc}") from None
