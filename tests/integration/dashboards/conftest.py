"""Real processes for the live dashboard tests: metric exporters and Debian's Prometheus.

Every process is started by the test, on 127.0.0.1 with a port the OS hands out, and killed by
its PID at the end (also on failure). Prometheus stores into the test's temp folder.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from carbonlab.dashboards import build
from carbonlab.dashboards.model import Dashboard, QueryVariable
from carbonlab.dashboards.scrape import ScrapeTarget, scrape_config
from carbonlab.loopback import free_loopback_port
from tests.waiting import WaitTimeout, wait_until

STAMP_MARGIN_S = 0.025  # beyond Prometheus's --scrape.timestamp-tolerance (2 ms)
PROMETHEUS = shutil.which("prometheus")
EXPORTER = Path(__file__).with_name("exporter.py")
SCRAPE_INTERVAL_S = 1.0


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def read_port(proc: subprocess.Popen[str], timeout_s: float = 20.0) -> int:
    found: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        found.append(proc.stdout.readline())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout_s)
    if not found or not found[0].startswith("PORT "):
        stop(proc)
        raise RuntimeError(f"exporter did not report its port: {found!r}")
    return int(found[0].split()[1])


@dataclass
class Lab:
    prometheus_url: str
    scrape_interval_s: float
    exporters: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        assert body["status"] == "success", (expr, body)
        return list(body["data"]["result"])

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.prometheus_url}{path}", params=params, timeout=10)
        r.raise_for_status()
        return r.json()["data"]

    def wait_reads(self, selector: str, value: str, what: str, timeout_s: float) -> None:
        """Wait until a series of `selector` reads `value` (looking four times per scrape)."""
        wait_until(lambda: any(s["value"][1] == value for s in self.query(selector)), timeout_s, what,
                   poll_s=self.scrape_interval_s / 4)

    def reads_down_from_the_kill(self, selector: str, kill: Callable[[], object], what: str,
                                 timeout_s: float) -> None:
        """SIGKILL through `kill`, wait until `selector` reads 0, then hold that the first scrape
        stamped after the signal read 0 and no later one read 1 (it was up before).

        The time is taken before the signal: Prometheus stamps a sample with its scrape's start,
        which can fall between the signal and the reap (that scrape fails, rightly), and aligns
        a stamp by up to --scrape.timestamp-tolerance (2 ms), hence the margin."""
        signalled_at = time.time() + STAMP_MARGIN_S
        kill()
        self.wait_reads(selector, "0", what, timeout_s)
        # a scrape that began within the margin before the signal can fail by it and read 0
        # with a stamp before `signalled_at` (CI, 2026-12-04): then the first scrape after the
        # signal is the next one, which may not have happened yet
        raw: list[list[Any]] = []

        def stamped_after() -> bool:
            nonlocal raw
            raw = self.query(f"{selector}[30s]")[0]["values"]
            return any(float(t) >= signalled_at for t, _v in raw)

        wait_until(stamped_after, timeout_s, f"{what}: a scrape stamped after the signal",
                   poll_s=self.scrape_interval_s / 4)
        after = [(float(t), v) for t, v in raw if float(t) >= signalled_at]
        assert after[0][1] == "0", f"first scrape after the kill still read {after[0]} ({raw})"
        assert {v for _t, v in after} == {"0"}, f"a scrape after the kill read up: {raw}"
        assert any(v == "1" for t, v in raw if float(t) < signalled_at), raw

    def wait_for_data(self, queries: dict[str, str], timeout_s: float,
                      each_round: Callable[[], object] = lambda: None) -> None:
        """Wait until every query of {name: expr} returns data (once a scrape, after `each_round`);
        fail naming those that never did."""
        pending = dict(queries)

        def none_pending() -> bool:
            nonlocal pending
            each_round()
            pending = {name: expr for name, expr in pending.items() if not self.query(expr)}
            return not pending

        try:
            wait_until(none_pending, timeout_s, "every query returns data", poll_s=self.scrape_interval_s)
        except WaitTimeout as exc:
            raise AssertionError(f"queries without data: {pending}") from exc


def start_exporter(role: str, name: str, *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(EXPORTER), "--role", role, "--name", name, *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, read_port(proc)


def start_prometheus(
    tmp: Path, targets: list[ScrapeTarget], port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's Prometheus on loopback (`port`, else a free one), scraping `targets` with the
    generated rules."""
    build.write(tmp, build.artifacts())
    config = scrape_config(targets, SCRAPE_INTERVAL_S, rule_files=[build.RECORDING_FILE, build.ALERTING_FILE])
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = port or free_loopback_port()
    with (tmp / "prometheus.log").open("w") as log:
        prom = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return prom, url
        except httpx.HTTPError:
            pass
        if prom.poll() is not None or time.monotonic() > deadline:
            stop(prom)
            raise RuntimeError("prometheus did not get ready: " + (tmp / "prometheus.log").read_text())
        time.sleep(0.2)


def expand_variables(expr: str, dash: Dashboard) -> str:
    """The query as Grafana sends it with every variable at its default: "All" (`.*`) or the text."""
    values = {v.name: ".*" if isinstance(v, QueryVariable) else v.default for v in dash.variables}
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: values[m.group(1)], expr)


def needs_prometheus() -> None:
    if PROMETHEUS is None:
        pytest.skip("prometheus not installed (Debian package `prometheus`; ./dev test installs it as root)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    needs_prometheus()
    tmp = tmp_path_factory.mktemp("prom")
    procs: list[subprocess.Popen[Any]] = []
    try:
        targets = []
        exporters: dict[str, subprocess.Popen[str]] = {}
        for role, name, extra, org in (
            ("node", "n1", ("--primary",), "Power Co A"),
            ("node", "n2", (), "Power Co B"),
            ("node", "n3", ("--lag", "3"), "Verifier"),
            ("node", "n4", (), "Trading Centre"),  # the one test_killed_member kills
            ("gateway", "gw1", (), "Power Co A"),
            ("rig", "controller", (), None),
        ):
            proc, port = start_exporter(role, name, *extra)
            procs.append(proc)
            exporters[name] = proc
            plant = "plant-1" if role == "gateway" else None
            targets.append(ScrapeTarget(role, f"127.0.0.1:{port}", name, organisation=org, plant=plant))
        prom, url = start_prometheus(tmp, targets)
        procs.append(prom)
        yield Lab(url, SCRAPE_INTERVAL_S, exporters)
    finally:
        for proc in procs:
            stop(proc)


WATCH_TOPOLOGY = """\
# A lab as `carbonlab lab watch` reads it: only the address of its Prometheus matters here.
lab_id: twatch
chain_id: carbonlab-twatch
provider: local
local: {{base_port: {base_port}, ports_per_host: 10}}
hosts: [{{id: node1}}, {{id: node2}}, {{id: node3}}, {{id: node4}}, {{id: plant}}, {{id: obs}}]
members:
  - {{id: n1, organisation: "Power company", role: power-company, host: node1}}
  - {{id: n2, organisation: "Emission management", role: emission-management, host: node2}}
  - {{id: n3, organisation: "Verifier", role: verifier, host: node3}}
  - {{id: n4, organisation: "Trading centre", role: trading-centre, host: node4}}
gateways:
  - {{id: gw1, mode: edge, host: plant, uplinks: [n1, n2, n3, n4], interval_s: 2}}
meters:
  - {{id: m1, gateway: gw1, company: genco, plant: plant1, unit: u1, stack: s1,
     emulated: {{host: plant, register_map: t100, port: 5020, profile: {{capacity_mw: 300}}}}}}
observability:
{observability}
"""


def watch_lab(tmp: Path, *, prometheus: bool = True) -> tuple[Path, Path, str | None]:
    """A topology file and a lab folder whose state says the lab is healthy, as `lab watch` reads
    them: (topology, lab dir, the URL of its Prometheus). The local port block is chosen so that
    the Prometheus port is free; the test starts its Prometheus there."""
    from carbonlab.lab.lifecycle import Lab
    from carbonlab.lab.state import LabState, Phase
    from carbonlab.lab.topology import load

    observability = "  prometheus: {host: obs, port: 9090, scrape_interval_s: 1}" if prometheus else "  {}"
    lab_dir = tmp / "watch-lab"
    for base in range(27000, 32000, 700):
        topo_file = tmp / "watch-topology.yaml"
        topo_file.write_text(WATCH_TOPOLOGY.format(base_port=base, observability=observability))
        topo = load(topo_file)
        url = (
            Lab(topo, lab_dir, progress=lambda _line: None).ports().url("obs", "prometheus")
            if prometheus
            else None
        )
        port = int(url.rsplit(":", 1)[1]) if url else free_loopback_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        LabState(
            lab_dir / "state.json",
            lab_id="twatch",
            provider="local",
            topology=str(topo_file),
            phase=Phase.HEALTHY,
        ).save()
        return topo_file, lab_dir, url
    raise RuntimeError("no free local port block for the watch topology")
