"""The dashboards on a running mini lab: real nodes, real emulated meters, a real gateway.

A 4-member consortium (`carbonlab node run`, from carbonlab.bench.localcluster), emulated CEMS
meters (`carbonlab meters serve`) polled over Modbus TCP by a real gateway (`carbonlab gateway run`)
that signs and uploads batches to the nodes, and the rig's `RigMetrics` (in the exporter process).
Prometheus scrapes all of them with the generated config and rules. Every panel query must return
data except those fed only by events this run does not provoke (frame errors, anomalies,
rejections) and the forecast, which the gateway serves only after a meter's first complete hour.
A gateway killed with SIGKILL reads `up == 0` at the first scrape after its death.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.cli import main
from carbonlab.dashboards import build, figures
from carbonlab.dashboards.names import FORECAST_METRIC, GATEWAY_METRICS
from carbonlab.dashboards.scrape import ScrapeTarget
from carbonlab.loopback import free_loopback_ports
from tests.integration.dashboards.conftest import (
    SCRAPE_INTERVAL_S,
    Lab,
    expand_variables,
    needs_prometheus,
    start_exporter,
    start_prometheus,
    stop,
    watch_lab,
)
from tests.waiting import WaitTimeout, wait_until

pytestmark = pytest.mark.slow
INTERVAL_S = 2
WAIT_S = 120.0
METERS = ("m1", "m2")
CLI = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())"]
EVENT_DRIVEN = ("frame_errors", "anomalies", "batches_rejected")


def gateway_metrics_text(lab: Lab) -> str:
    """The gateway's /metrics, found through Prometheus's targets (listed once it has loaded them)."""
    urls = wait_until(
        lambda: [t["scrapeUrl"] for t in lab.get("/api/v1/targets")["activeTargets"]
                 if t["labels"]["job"] == "gateway"],
        WAIT_S, "Prometheus lists the gateway target", poll_s=SCRAPE_INTERVAL_S / 4)
    assert len(urls) == 1, urls
    return httpx.get(urls[0], timeout=10).text


def forecast_has_samples(text: str) -> bool:
    """The gateway forecasts only once a meter has a complete hour of history: later than this test."""
    return any(line.startswith(FORECAST_METRIC + "{") for line in text.splitlines())


def spawn(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            args, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    import socket

    def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(listening, 60, f"something listens on {port}", poll_s=0.1)
    except WaitTimeout as exc:
        raise RuntimeError(f"nothing listens on {port}: {log.read_text()[-2000:]}") from exc


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


@dataclass(frozen=True)
class GatewayHost:
    """The emulated gateway host's folder and ports: meters on `meter_ports`, the gateway's /metrics."""

    dir: Path
    meter_ports: tuple[int, ...]
    metrics_port: int


@dataclass
class MiniLab:
    lab: Lab
    procs: dict[str, subprocess.Popen[bytes]]
    cluster: LocalCluster
    topology: Path  # a topology whose Prometheus is this one, for `carbonlab lab watch`
    lab_dir: Path


def meters_config(ports: tuple[int, ...]) -> dict[str, object]:
    """The METERS.yaml of the emulated meters, one t100 per port."""
    meters = [
        {"id": m, "register_map": "t100", "transport": "tcp", "host": "127.0.0.1", "port": p, "device_id": 1,
         "sample_period_s": 0.2, "profile": {"capacity_mw": 600, "co2_basis": "wet"}}
        for m, p in zip(METERS, ports, strict=True)
    ]
    return {"seed": 7, "truth_dir": "truth", "meters": meters}


def gateway_toml(cluster: LocalCluster, host: GatewayHost) -> str:
    """gw1's configuration: every member as an uplink, the meters of `host` polled over TCP."""
    lines = [
        'gateway_id = "gw1"',
        'key_file = "gw1.key"',
        'genesis = "genesis.json"',
        'data_dir = "data/gw1"',
        'mode = "edge"',
        "nodes = [" + ", ".join(f'"{cluster.url(m)}"' for m in cluster.members) + "]",
        f'metrics_listen = "127.0.0.1:{host.metrics_port}"',
        f"interval_s = {INTERVAL_S}",
        "close_delay_s = 0.5",
    ]
    for m, p in zip(METERS, host.meter_ports, strict=True):
        lines += ["[[meters]]", f'id = "{m}"', 'register_map = "t100"', 'transport = "tcp"',
                  'host = "127.0.0.1"', f"port = {p}", "sample_period_s = 0.2", "timeout_s = 0.5"]
    return "\n".join(lines) + "\n"


def write_gateway_host(root: Path, cluster: LocalCluster) -> GatewayHost:
    """gw1's key, the genesis, METERS.yaml and gateway.toml in a fresh folder under `root`."""
    *meter_ports, metrics_port = free_loopback_ports(len(METERS) + 1)
    host = GatewayHost(root / "gw", tuple(meter_ports), metrics_port)
    host.dir.mkdir()
    cluster.gateway_keys["gw1"].save(host.dir / "gw1.key")
    (host.dir / "genesis.json").write_bytes((cluster.root / "genesis.json").read_bytes())
    (host.dir / "meters.yaml").write_text(yaml.safe_dump(meters_config(host.meter_ports)))
    (host.dir / "gateway.toml").write_text(gateway_toml(cluster, host))
    return host


def scrape_targets(cluster: LocalCluster, host: GatewayHost, rig_port: int) -> list[ScrapeTarget]:
    orgs = {m.id: m.organisation for m in cluster.genesis.members}
    targets = [
        ScrapeTarget("node", f"127.0.0.1:{cluster.api_ports[m]}", m, organisation=orgs[m])
        for m in cluster.members
    ]
    return [
        *targets,
        ScrapeTarget("gateway", f"127.0.0.1:{host.metrics_port}", "gw1", plant="plant1"),
        ScrapeTarget("rig", f"127.0.0.1:{rig_port}", "controller"),
    ]


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needs_prometheus()
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def chain(lab_root: Path) -> Iterator[LocalCluster]:
    """A 4-member consortium with one gateway of len(METERS) meters, running and ready."""
    cluster = LocalCluster.create(
        lab_root / "chain", 4, gateways=1, meters_per_gateway=len(METERS),
        params={"reading_interval_s": INTERVAL_S}, chain_id="carbonlab-dash",
    )
    assert cluster.genesis.gateway_by_id["gw1"].meters == METERS
    try:
        cluster.start_all()
        cluster.wait_ready(timeout_s=120)
        yield cluster
    finally:
        cluster.stop()


Procs = dict[str, subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def gateway_host(lab_root: Path, chain: LocalCluster) -> Iterator[tuple[GatewayHost, Procs]]:
    """The emulated meters and the real gateway polling them, both listening; killed at the end."""
    host = write_gateway_host(lab_root, chain)
    procs: Procs = {}
    try:
        procs["meters"] = spawn([*CLI, "meters", "serve", "--config", "meters.yaml"], host.dir,
                                host.dir / "meters.log")
        for port in host.meter_ports:
            wait_port(port, procs["meters"], host.dir / "meters.log")
        procs["gateway"] = spawn([*CLI, "gateway", "run", "--config", "gateway.toml"], host.dir,
                                 host.dir / "gateway.log")
        wait_port(host.metrics_port, procs["gateway"], host.dir / "gateway.log")
        yield host, procs
    finally:
        for proc in procs.values():
            kill(proc)


@pytest.fixture(scope="module")
def rig_exporter() -> Iterator[int]:
    """The rig's metrics exporter; yields its port."""
    rig, rig_port = start_exporter("rig", "controller")
    try:
        yield rig_port
    finally:
        stop(rig)


@pytest.fixture(scope="module")
def mini_lab(
    lab_root: Path,
    chain: LocalCluster,
    gateway_host: tuple[GatewayHost, Procs],
    rig_exporter: int,
) -> Iterator[MiniLab]:
    """Prometheus scraping all of it, on the port a `lab watch` topology names."""
    host, procs = gateway_host
    topology, lab_dir, watch_url = watch_lab(lab_root)
    assert watch_url is not None
    prom, url = start_prometheus(lab_root, scrape_targets(chain, host, rig_exporter),
                                 port=int(watch_url.rsplit(":", 1)[1]))
    try:
        yield MiniLab(Lab(url, SCRAPE_INTERVAL_S), procs, chain, topology, lab_dir)
    finally:
        stop(prom)


def lab_queries(skip: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for d in build.dashboards():
        for p in d.panels:
            for q in p.queries:
                if not any(word in q.expr for word in skip):
                    out[f"{d.uid} / {p.title} / {q.legend}"] = expand_variables(q.expr, d)
    return out


def test_every_panel_has_data_on_a_running_lab(mini_lab: MiniLab) -> None:
    lab = mini_lab.lab
    # the forecast panel is checked as soon as the gateway has a forecast to serve
    skip = EVENT_DRIVEN if forecast_has_samples(gateway_metrics_text(lab)) else (*EVENT_DRIVEN, "forecast")
    pending = lab_queries(skip)
    everything = [q for d in build.dashboards() for p in d.panels for q in p.queries]
    assert len(pending) == len(everything) - len(skip)
    lab.wait_for_data(pending, WAIT_S)
    # the emissions of the plant move: committed CO2 grows between two looks

    def committed_co2() -> float:
        return sum(float(s["value"][1]) for s in lab.query("company:carbonlab_co2_kg:total"))

    first = committed_co2()
    wait_until(lambda: committed_co2() > first, WAIT_S, "committed CO2 grew", poll_s=INTERVAL_S)
    assert {s["metric"]["meter"] for s in lab.query("meter:carbonlab_co2_kg_per_hour:rate5m")} == set(METERS)


def test_the_real_gateway_exposes_every_gateway_metric_name(mini_lab: MiniLab) -> None:
    lab = mini_lab.lab
    text = gateway_metrics_text(lab)
    for metric in GATEWAY_METRICS:  # the forecast gauge included: defined here, served by the gateway
        base = metric.name.removesuffix("_total")  # the text format names a counter with or without it
        assert {f"# TYPE {metric.name} {metric.type}", f"# TYPE {base} {metric.type}"} & set(
            text.splitlines()
        ), f"the gateway does not expose {metric.name}"


def watch(mini_lab: MiniLab, capsys: pytest.CaptureFixture[str]) -> str:
    """One screen of `carbonlab lab watch` on the lab whose Prometheus is this one."""
    argv = ["lab", "watch", str(mini_lab.topology), "--lab-dir", str(mini_lab.lab_dir), "--count", "1"]
    capsys.readouterr()
    assert main(argv) == 0
    return capsys.readouterr().out


def test_lab_watch_shows_the_dashboards_figures_from_prometheus(
    mini_lab: MiniLab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = mini_lab.lab

    def complete_figures() -> figures.Values | None:
        got = figures.fetch(lab.prometheus_url)
        empty = {k for k, v in got.items() if not v}
        return got if not empty and len(got["height"]) >= 4 and got["CO2 kg/h"] else None

    values = wait_until(complete_figures, WAIT_S, "every figure of `lab watch` has data",
                        poll_s=SCRAPE_INTERVAL_S)
    assert {k for k, v in values.items() if not v} == set(), values
    assert set(values["up"]) == set(values["height"]) == set(mini_lab.cluster.members)
    assert set(values["CO2 kg/h"]) == {"plant1"}
    assert set(values["backlog"]) == {"gw1"}
    out = watch(mini_lab, capsys)
    assert f"figures: Prometheus {lab.prometheus_url}, the dashboards' own queries" in out
    for member in mini_lab.cluster.members:
        assert re.search(rf"^{member} +UP +\d+ +\d+ +\d+ ", out, re.M), out
    assert re.search(r"^CO2 per plant +plant1 \d+\.\d kg/h$", out, re.M), out
    assert re.search(r"^gw1 +UP +\d+ +\d+ s$", out, re.M), out
    assert re.search(r"^commit latency +p50 \d", out, re.M), out
    assert "NO PROMETHEUS" not in out


def test_killed_gateway_reads_down_at_the_first_scrape(mini_lab: MiniLab) -> None:
    lab, procs = mini_lab.lab, mini_lab.procs
    selector = 'up{job="gateway", gateway="gw1"}'
    lab.wait_reads(selector, "1", "gw1 came up", WAIT_S)
    lab.reads_down_from_the_kill(selector, lambda: kill(procs["gateway"]), "gw1 read down", WAIT_S)


def test_lab_watch_shows_a_killed_member_down_at_the_first_scrape(
    mini_lab: MiniLab, capsys: pytest.CaptureFixture[str]
) -> None:
    lab, member = mini_lab.lab, "n4"
    selector = f'up{{job="node", member="{member}"}}'
    wait_until(lambda: figures.fetch(lab.prometheus_url)["up"].get(member) == 1.0, WAIT_S,
               f"{member} came up", poll_s=SCRAPE_INTERVAL_S)
    assert re.search(rf"^{member} +UP ", watch(mini_lab, capsys), re.M)
    mini_lab.cluster.kill(member)  # SIGKILL, then reaped
    killed_at = time.time()  # every scrape starting from here on must fail
    # wait for Prometheus's first scrape of the member after its death, then look at once
    wait_until(lambda: [t for t, _v in lab.query(f"{selector}[30s]")[0]["values"] if float(t) >= killed_at],
               WAIT_S, f"a scrape of {member} after the kill", poll_s=SCRAPE_INTERVAL_S / 4)
    out = watch(mini_lab, capsys)
    assert re.search(rf"^{member} +DOWN ", out, re.M), out  # its height: the last one recorded
    for other in set(mini_lab.cluster.members) - {member}:
        assert re.search(rf"^{other} +UP ", out, re.M), out
