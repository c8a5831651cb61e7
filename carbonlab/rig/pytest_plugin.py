"""The rig's pytest plugin (registered through the `pytest11` entry point `carbonlab_rig`).

It is loaded in every pytest run of the project, so it imports nothing heavy at module level
and does nothing unless asked: the lab is only bound (and brought up when it is not healthy)
when a test uses the `lab` fixture, which skips, saying why, without `--rig-topology`.

Options: --rig-topology FILE, --rig-provider local|netns|ssh, --rig-lab-dir DIR, --rig-seed N,
--rig-report DIR, --rig-keep-lab, --rig-grafana-url URL, --rig-grafana-token T (fault annotations;
default $CARBONLAB_GRAFANA_URL/_TOKEN). A lab the session had to bring up is taken down at its end.
Fixtures: `lab` (a bound `RigLab`, session), `chain` (the nodes' heights), `meters` (each
meter's `MeterProtocol` binding, emulated or physical), `faults` (a fault journal healed after the test),
`rig_run` (run a scenario, report into --rig-report). Markers: `root` (skips unless root),
`physical` (skips unless the topology binds a physical meter; `physical("m1")` names it).
With --junitxml and --rig-topology the suite carries the properties `rig.topology`,
`rig.provider`, `rig.seed`, `rig.commit` and `rig.meter.<id>` (emulated or physical).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:   # annotations only: the plugin imports nothing heavy at load
    from carbonlab.rig.annotations import GrafanaMarks
    from carbonlab.rig.faults.journal import FaultJournal
    from carbonlab.rig.labbind import RigLab
    from carbonlab.rig.meters.binding import MeterProtocol
    from carbonlab.rig.runner import ScenarioRun
    from carbonlab.rig.scenario import Scenario

LAB_UP_HEALTH_S = 300.0   # a lab this session brings up must be healthy within this long


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("carbonlab-rig", "carbonlab hardware-in-the-loop rig")
    group.addoption("--rig-topology", default=None, metavar="FILE",
                    help="topology of the lab to test against")
    group.addoption("--rig-provider", default=None, choices=("local", "netns", "ssh"),
                    help="provider to bring the lab up on when it is not healthy (default: the topology's)")
    group.addoption("--rig-lab-dir", default=None, metavar="DIR",
                    help="the lab directory (default: var/labs/<id>)")
    group.addoption("--rig-seed", default=None, type=int,
                    help="seed for every scenario (default: each one's own)")
    group.addoption("--rig-report", default="rig-reports", metavar="DIR", help="where scenario reports go")
    group.addoption("--rig-grafana-url", default=None, metavar="URL",
                    help="post an annotation per fault applied and healed to this Grafana "
                         "(default: $CARBONLAB_GRAFANA_URL; none when unset)")
    group.addoption("--rig-grafana-token", default=None, metavar="TOKEN",
                    help="its API token (default: $CARBONLAB_GRAFANA_TOKEN)")
    group.addoption("--rig-keep-lab", action="store_true", default=False,
                    help="leave a lab this session brought up running at its end (default: take it down)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root: needs root (network namespaces, nft); skipped otherwise")
    config.addinivalue_line("markers", "physical(meter=None): needs a physical meter bound in the topology")
    config.addinivalue_line("markers", "hil: hardware-in-the-loop scenario against a provisioned lab")


def _physical_meters(config: pytest.Config) -> dict[str, str] | str:
    """Meter id -> binding of the physical meters of --rig-topology, or why there are none."""
    topology = config.getoption("--rig-topology")
    if not topology:
        return "no --rig-topology given, so no physical meter is bound"
    from carbonlab.lab import topology as topo_mod
    topo = topo_mod.load(Path(topology))
    return {m.id: "physical" for m in topo.meters if m.emulated is None}


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, nft, mounts); run as root")
    marker = item.get_closest_marker("physical")
    if marker is not None:
        found = _physical_meters(item.config)
        if isinstance(found, str):
            pytest.skip(f"needs a physical meter: {found}")
        wanted = marker.args[0] if marker.args else marker.kwargs.get("meter")
        if not found or (wanted is not None and wanted not in found):
            what = f"meter {wanted!r}" if wanted else "any meter"
            pytest.skip(f"needs a physical meter: the topology binds {what} to an emulator")


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).parent, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


@pytest.fixture(scope="session", autouse=True)
def _rig_junit_properties(pytestconfig: pytest.Config,
                          record_testsuite_property: Callable[[str, object], None]) -> None:
    topology = pytestconfig.getoption("--rig-topology")
    if not topology:
        return
    from carbonlab.lab import topology as topo_mod
    topo = topo_mod.load(Path(topology))
    record_testsuite_property("rig.topology", str(Path(topology).resolve()))
    record_testsuite_property("rig.provider", pytestconfig.getoption("--rig-provider") or topo.provider)
    seed = pytestconfig.getoption("--rig-seed")
    record_testsuite_property("rig.seed", "each scenario's own (see its report)" if seed is None else seed)
    record_testsuite_property("rig.commit", _commit())
    for m in topo.meters:
        binding = "emulated" if m.emulated else "physical"
        record_testsuite_property(f"rig.meter.{m.id}", binding)


@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config) -> Iterator[RigLab]:
    topology = pytestconfig.getoption("--rig-topology")
    if not topology:
        pytest.skip("no lab to test against: give --rig-topology FILE (and --rig-provider local|netns)")
    from carbonlab.lab import topology as topo_mod
    from carbonlab.lab.lifecycle import Lab, default_lab_dir
    from carbonlab.lab.providers import provider_class
    from carbonlab.lab.state import LabState, Phase
    from carbonlab.rig.labbind import bind_lab

    topo_path = Path(topology).resolve()
    topo = topo_mod.load(topo_path)
    provider = pytestconfig.getoption("--rig-provider")
    chosen = provider or topo.provider
    if provider_class(chosen).needs_root and os.geteuid() != 0:
        pytest.skip(f"the {chosen} provider needs root")
    lab_dir = Path(pytestconfig.getoption("--rig-lab-dir") or default_lab_dir(topo)).resolve()
    brought_up = None
    if LabState.load(lab_dir / "state.json").phase != Phase.HEALTHY:
        # one lab for the whole session, taken down at its end when this session brought it up
        brought_up = Lab(topo, lab_dir, provider)
        try:
            brought_up.up(health_timeout_s=LAB_UP_HEALTH_S)
        except BaseException:
            brought_up.down()
            raise
    try:
        bound = bind_lab(topo_path, lab_dir, seed=pytestconfig.getoption("--rig-seed") or 0)
        yield bound
        bound.close()
    finally:
        if brought_up is not None and not pytestconfig.getoption("--rig-keep-lab"):
            brought_up.down()


def _marks(config: pytest.Config) -> GrafanaMarks | None:
    """Grafana fault marks when a Grafana is configured (option or environment), else None."""
    from carbonlab.rig.annotations import grafana_marks
    return grafana_marks(config.getoption("--rig-grafana-url"), config.getoption("--rig-grafana-token"))


class Chain:
    """The nodes of the lab as a test sees them: heights, and waiting for one."""

    def __init__(self, lab: RigLab) -> None:
        from carbonlab.rig.sampler import Sampler
        self.lab = lab
        self._sampler = Sampler({m: ref.url for m, ref in lab.ctx.nodes.items()})

    def heights(self) -> dict[str, int | None]:
        return dict(self._sampler.sample().heights)

    def primary(self) -> str | None:
        return self._sampler.primary()

    def wait_height(self, height: int, members: list[str] | None = None, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            now = self.heights()
            if all((now.get(m) or -1) >= height for m in (members or list(now))):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"height {height} not reached within {timeout_s} s: {now}")
            time.sleep(0.5)


@pytest.fixture
def chain(lab: RigLab) -> Chain:
    return Chain(lab)


@pytest.fixture
def meters(lab: RigLab) -> dict[str, MeterProtocol]:
    """Meter id -> its binding: read it, and (emulated only) switch its faults, read its truth."""
    return dict(lab.ctx.meters)


@pytest.fixture
def faults(lab: RigLab, request: pytest.FixtureRequest) -> Iterator[FaultJournal]:
    """A fault journal on the lab; whatever a test leaves applied is healed afterwards."""
    from carbonlab.rig.faults.journal import FaultJournal
    journal = FaultJournal(lab.ctx)
    marks = _marks(request.config)
    if marks is not None:
        marks.scenario = request.node.name
        journal.on_event = marks
    yield journal
    errors = journal.heal_all()
    assert not errors, f"faults the rig could not heal: {errors}"


@pytest.fixture
def rig_run(lab: RigLab, pytestconfig: pytest.Config) -> Callable[[Scenario | str], ScenarioRun]:
    """Run a scenario (object or shipped name) on the lab; the report lands in --rig-report."""
    import dataclasses

    from carbonlab.rig.report import write_report
    from carbonlab.rig.runner import run_scenario
    from carbonlab.rig.scenario import find

    def run(scenario: Scenario | str) -> ScenarioRun:
        sc = find(scenario) if isinstance(scenario, str) else scenario
        seed = pytestconfig.getoption("--rig-seed")
        if seed is not None:
            sc = dataclasses.replace(sc, seed=seed)
        out = Path(pytestconfig.getoption("--rig-report")).resolve() / sc.name
        result = run_scenario(lab, sc, out, progress=lambda _line: None, marks=_marks(pytestconfig))
        write_report(out / "run.json")
        return result

    return run
