"""Helpers for the gateway's process-level tests: files, free ports, processes killed by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis

ROOT = Path(__file__).resolve().parents[3]
CARBONLAB = [sys.executable, "-c", "import sys; from carbonlab.cli import main; sys.exit(main())"]


def write_genesis(path: Path, gateway: Signer, meters: Sequence[str], *, members: Sequence[Signer],
                  interval_s: int, extra_member_fields: Sequence[dict[str, str]] = ()) -> Genesis:
    doc: dict[str, Any] = {
        "chain_id": "carbonlab-gwtest", "n": len(members), "f": (len(members) - 1) // 3,
        "params": {"reading_interval_s": interval_s},
        "members": [{"id": f"n{i + 1}", "organisation": f"org{i + 1}", "role": "verifier",
                     "public_key": m.public_key.hex(),
                     **(extra_member_fields[i] if i < len(extra_member_fields) else {})}
                    for i, m in enumerate(members)],
        "gateways": [{"id": "gw1", "public_key": gateway.public_key.hex(), "meters": list(meters)}],
        "meters": [{"id": m, "company": "c1", "plant": "p1", "unit": f"u{i}", "stack": f"s{i}"}
                   for i, m in enumerate(meters)],
    }
    genesis = Genesis.from_json(doc)
    genesis.save(path)
    return genesis


def write_meters_yaml(path: Path, meters: Sequence[str], ports: Sequence[int], *,
                      sample_period_s: float) -> None:
    doc = {"seed": 7, "truth_dir": "truth",
           "meters": [{"id": m, "register_map": "t100", "transport": "tcp", "host": "127.0.0.1",
                       "port": p, "device_id": 1, "sample_period_s": sample_period_s,
                       "profile": {"capacity_mw": 600, "co2_basis": "wet"}}
                      for m, p in zip(meters, ports, strict=True)]}
    path.write_text(yaml.safe_dump(doc))


def write_gateway_toml(path: Path, *, nodes: Sequence[str], meters: Sequence[str],
                       ports: Sequence[int], interval_s: int, sample_period_s: float,
                       metrics_port: int, extra: str = "") -> None:
    lines = [
        'gateway_id = "gw1"', 'key_file = "gw1.key"', 'genesis = "genesis.json"',
        'data_dir = "data/gw1"', 'mode = "edge"',
        "nodes = [" + ", ".join(f'"{n}"' for n in nodes) + "]",
        f'metrics_listen = "127.0.0.1:{metrics_port}"', f"interval_s = {interval_s}",
        "close_delay_s = 0.5", f"hold_s = {4 * interval_s}", "log_level = \"info\"", extra,
        "[uplink]", "request_timeout_s = 2.0", "poll_interval_s = 0.05", "commit_timeout_s = 5.0",
        "base_backoff_s = 0.05", "max_backoff_s = 0.5",
    ]
    for m, p in zip(meters, ports, strict=True):
        lines += ["[[meters]]", f'id = "{m}"', 'register_map = "t100"', 'transport = "tcp"',
                  'host = "127.0.0.1"', f"port = {p}", f"sample_period_s = {sample_period_s}",
                  "timeout_s = 0.5"]
    path.write_text("\n".join(lines) + "\n")


class Proc:
    """A child process in its own session, stopped by its PID (never by name)."""

    def __init__(self, args: Sequence[str], cwd: Path, log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.p = subprocess.Popen(list(args), cwd=cwd, stdout=self._fh, stderr=subprocess.STDOUT,
                                  start_new_session=True, env=env)

    @property
    def pid(self) -> int:
        return self.p.pid

    def kill(self) -> None:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=30)
        self._fh.close()

    def stop(self, timeout: float = 20.0) -> int:
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=30)
        self._fh.close()
        return int(self.p.returncode)

    def alive(self) -> bool:
        return self.p.poll() is None


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
