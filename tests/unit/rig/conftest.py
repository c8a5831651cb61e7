"""Fixtures of the rig's unit tests: real service processes under their supervisors, and (root)
a small real lab network: a bridge and namespaces with TCP servers, removed afterwards."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.rig.faults.context import LabNet, NetHost
from carbonlab.rig.hosts.service import ServiceHost
from carbonlab.rig.hosts.shells import LocalShell

_TAGS = itertools.count()
SLEEPER = "import sys, time\nprint('sleeper up', flush=True)\nwhile True: time.sleep(0.2)\n"
ECHO = ("import socket, sys\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); s.settimeout(120)\n"
        "while True:\n    c, _ = s.accept(); c.settimeout(10); d = c.recv(100)\n"
        "    c.sendall(b'echo:' + d); c.close()\n")


def end_services(run_dir: Path, marker: str) -> None:
    """SIGKILL every pidfile's process in run_dir whose command line names `marker` (ours):
    supervisors first (a service they would restart dies with them)."""
    for pidfile in sorted(run_dir.glob("*.pid"), key=lambda f: not f.name.endswith(".supervisor.pid")):
        try:
            pid = int(pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if marker in cmdline:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ServiceHost]:
    h = ServiceHost("h1", LocalShell("h1"), tmp_path / "run", tmp_path / "log")
    yield h
    end_services(tmp_path / "run", str(tmp_path))


def sleeper_argv(tmp_path: Path) -> tuple[str, ...]:
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    return (sys.executable, str(script))


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces, a bridge and nft tables")


@pytest.fixture
def labnet(tmp_path: Path) -> Iterator[LabNet]:
    """Bridge `clrt<pid>` on 198.19.<x>.0/24 and three namespaces h1..h3 each with an echo server
    on port 8080; everything removed afterwards, also on failure."""
    need_root()
    tag = f"{os.getpid() % 1000}{next(_TAGS) % 100:02d}"  # namespaces go away lazily: never reuse
    bridge, third = f"clrt{tag}", 200 + os.getpid() % 50
    net = LabNet(f"t{tag}", bridge, f"198.19.{third}.1", {})
    servers: list[subprocess.Popen[bytes]] = []

    def sh(*argv: str) -> None:
        subprocess.run(argv, check=True, timeout=30, capture_output=True)

    try:
        sh("ip", "link", "add", bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{net.controller_address}/24", "dev", bridge)
        sh("ip", "link", "set", bridge, "up")
        for i in (1, 2, 3):
            ns, veth, address = f"clrt{tag}-h{i}", f"clrt{tag}v{i}", f"198.19.{third}.{10 + i}"
            net.hosts[f"h{i}"] = NetHost(address, ns, veth)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            servers.append(subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", ECHO, address,
                                             "8080"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for dst in net.hosts:        # every echo server listening before the test starts
            src = "h2" if dst == "h1" else "h1"
            deadline = time.monotonic() + 30
            while talk(net, src, dst) != "echo:hi":
                if time.monotonic() > deadline:
                    raise AssertionError(f"echo server on {dst} did not come up")
                time.sleep(0.2)
        yield net
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(timeout=10)
        for name in [line.split()[2] for line in subprocess.run(
                ["nft", "list", "tables"], capture_output=True, text=True, timeout=10).stdout.splitlines()
                if f"clrig_{net.lab_id}_" in line]:
            subprocess.run(["nft", "delete", "table", "bridge", name], capture_output=True, timeout=10)
        for h in net.hosts.values():
            subprocess.run(["ip", "link", "del", h.veth], capture_output=True, timeout=30)
            subprocess.run(["ip", "netns", "del", h.netns], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)


def talk(net: LabNet, src: str, dst: str, port: int = 8080, timeout_s: float = 1.5) -> str:
    """From host src's namespace, connect to dst:port, send 'hi' and return the reply or 'fail'."""
    code = ("import socket, sys\ntry:\n    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), "
            f"timeout={timeout_s})\n    s.sendall(b'hi'); print(s.recv(100).decode())\n"
            "except OSError as e:\n    print('fail', e)\n")
    done = subprocess.run(["ip", "netns", "exec", net.hosts[src].netns, sys.executable, "-c", code,
                           net.hosts[dst].address, str(port)], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()
