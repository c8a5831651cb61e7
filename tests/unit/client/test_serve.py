"""The `carbonlab client` process itself: started, used, ended with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.loopback import free_loopback_ports


@pytest.mark.timeout(120)
def test_sigterm_removes_the_reports_directory(tmp_path: Path) -> None:
    """Found by the outsider probe: every console run left its carbonlab-client-reports-*
    directory (with the reports it built) in /tmp."""
    cluster = LocalCluster.create(tmp_path / "c", 4, gateways=2, companies=True)   # never started
    port, node_port = free_loopback_ports(2)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    token = tmp_path / "token"
    cli = Path(sys.executable).parent / "carbonlab"
    proc = subprocess.Popen([str(cli), "client", "--node", f"http://127.0.0.1:{node_port}", "--token-file",
                             str(token), "--new-token", "--genesis", str(cluster.root / "genesis.json"),
                             "--listen", f"127.0.0.1:{port}", "--member", "n1", "--timeout-s", "1"],
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                got = httpx.get(f"http://127.0.0.1:{port}/reports", timeout=5,
                                headers={"authorization": f"Bearer {token.read_text().strip()}"})
                break
            except (httpx.HTTPError, OSError):
                assert time.monotonic() < deadline, "the console did not start"
                time.sleep(0.2)
        assert got.status_code == 200
        assert list(tmp.glob("carbonlab-client-reports-*")), "the page made no reports directory"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not list(tmp.glob("carbonlab-client-reports-*"))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
