"""A real 4-node cluster with committed readings, and real `carbonlab client` processes on
loopback talking to it (ports from this suite's block, 29000-29499)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.client.auth import write_token
from tests.waiting import wait_until

PORT_BASE = 29000
CONSOLE = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"]


@dataclass
class Console:
    url: str
    token: str
    proc: subprocess.Popen[bytes]

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.get(self.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    made = LocalCluster.create(tmp_path_factory.mktemp("client") / "c", 4, gateways=2)
    with made.serving(timeout_s=90):
        feed = made.feeds()[0]
        for _ in range(4):
            batch = feed.next_batch(per_meter=2)
            r = httpx.post(f"{made.url('n2')}/v1/batches?wait_ms=10000", json=batch.to_json(), timeout=30)
            assert r.json()["status"] == "committed", r.text
        yield made


@pytest.fixture(scope="module")
def start_console(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Callable[..., Console]]:
    procs: list[subprocess.Popen[bytes]] = []
    root = tmp_path_factory.mktemp("consoles")

    def start(node_url: str | None = None, member: str = "n2", lab_dir: Path | None = None) -> Console:
        port = PORT_BASE + len(procs)
        token_file = root / f"token{len(procs)}"
        token = write_token(token_file)
        argv = [*CONSOLE, "client", "--node", node_url or cluster.url(member), "--token-file",
                str(token_file), "--genesis", str(cluster.root / "genesis.json"), "--listen",
                f"127.0.0.1:{port}", "--member", member, "--refresh-s", "0.5", "--timeout-s", "3"]
        if lab_dir is not None:
            argv += ["--lab-dir", str(lab_dir)]
        log = open(root / f"console{len(procs)}.log", "wb")   # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        log.close()
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.poll() is None, (root / f"console{len(procs) - 1}.log").read_text()
            try:
                return httpx.get(url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, f"console on {url} answers /healthz")
        return Console(url, token, proc)

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def console(start_console: Callable[..., Console]) -> Console:
    return start_console()
