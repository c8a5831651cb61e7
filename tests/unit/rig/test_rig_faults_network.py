"""Network faults on a small real network (root): a bridge, three namespaces with TCP echo
servers, the nft tables and tbf qdiscs the faults create, and the delay fault's redirect."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.rig.faults import FaultContext, FaultJournal, LabNet, ServiceRef, make_fault
from carbonlab.rig.hosts.service import ServiceHost
from carbonlab.rig.hosts.shells import LocalShell
from tests.unit.rig.conftest import talk

pytestmark = pytest.mark.root


@pytest.fixture
def netctx(labnet: LabNet) -> FaultContext:
    return FaultContext(net=labnet, seed=7)


def test_partition_and_heal(netctx: FaultContext, labnet: LabNet) -> None:
    assert talk(labnet, "h1", "h3") == "echo:hi"
    journal = FaultJournal(netctx)
    fault = make_fault("node.partition", "lab", {"groups": [["h1", "h2"], ["h3"]]})
    record = journal.apply(fault)
    assert "drop" in record.applied
    assert talk(labnet, "h1", "h3").startswith("fail")
    assert talk(labnet, "h3", "h2").startswith("fail")
    assert talk(labnet, "h1", "h2") == "echo:hi"        # same side still talks
    journal.heal(fault)
    assert talk(labnet, "h1", "h3") == "echo:hi"
    assert fault.heal(netctx) == "no table left"        # healing twice is harmless


def test_isolate_and_loss(netctx: FaultContext, labnet: LabNet) -> None:
    journal = FaultJournal(netctx)
    journal.apply(make_fault("node.isolate", "h2"))
    assert talk(labnet, "h1", "h2").startswith("fail")
    assert talk(labnet, "h3", "h2").startswith("fail")
    assert talk(labnet, "h1", "h3") == "echo:hi"
    journal.apply(make_fault("link.loss", "h3", {"pct": 100.0}))
    assert talk(labnet, "h1", "h3").startswith("fail")
    assert journal.heal_all() == []
    assert talk(labnet, "h1", "h2") == "echo:hi"
    assert talk(labnet, "h1", "h3") == "echo:hi"


def test_partial_loss_rule_is_random(netctx: FaultContext, labnet: LabNet) -> None:
    journal = FaultJournal(netctx)
    record = journal.apply(make_fault("link.loss", "h1", {"pct": 12.5}))
    assert "numgen random mod 10000 < 1250" in record.applied
    journal.heal_all()


def test_uplink_cut(labnet: LabNet) -> None:
    h = ServiceHost("x", LocalShell(), Path("/nonexistent"), Path("/nonexistent"))  # no service is touched
    ctx = FaultContext(nodes={"n1": ServiceRef(h, "node-n1", "h2", h.run_dir)},
                       gateways={"gw1": ServiceRef(h, "gateway-gw1", "h1", h.run_dir)}, net=labnet)
    journal = FaultJournal(ctx)
    journal.apply(make_fault("gateway.uplink_cut", "gw1"))
    assert talk(labnet, "h1", "h2").startswith("fail")   # gateway -> node cut
    assert talk(labnet, "h1", "h3") == "echo:hi"          # gateway -> meters host still fine
    journal.heal_all()
    assert talk(labnet, "h1", "h2") == "echo:hi"


def qdisc(labnet: LabNet, host: str) -> tuple[str, str]:
    h = labnet.hosts[host]
    outer = subprocess.run(["tc", "qdisc", "show", "dev", h.veth], capture_output=True, text=True, timeout=10)
    inner = subprocess.run(["ip", "netns", "exec", h.netns, "tc", "qdisc", "show", "dev", "eth0"],
                           capture_output=True, text=True, timeout=10)
    return outer.stdout, inner.stdout


def test_bandwidth_both_ends(netctx: FaultContext, labnet: LabNet) -> None:
    journal = FaultJournal(netctx)
    journal.apply(make_fault("link.bandwidth", "h2", {"rate_kbit": 256}))
    outer, inner = qdisc(labnet, "h2")
    assert "tbf" in outer
    assert "256Kbit" in outer
    assert "tbf" in inner
    assert talk(labnet, "h1", "h2") == "echo:hi"          # slow, not cut
    journal.heal_all()
    outer, inner = qdisc(labnet, "h2")
    assert "tbf" not in outer
    assert "tbf" not in inner


def test_delay_goes_through_the_proxy(netctx: FaultContext, labnet: LabNet) -> None:
    journal = FaultJournal(netctx)
    fault = make_fault("link.delay", "h1", {"to": "h2", "port": 8080, "delay_ms": 50.0, "jitter_ms": 20.0})
    journal.apply(fault)
    proxy = fault.undo["proxy"]
    assert talk(labnet, "h1", "h2") == "echo:hi"
    assert talk(labnet, "h3", "h2") == "echo:hi"          # other hosts are not redirected
    assert proxy.connections == 1
    record = journal.heal(fault)
    assert "1 connection" in record.healed
    assert talk(labnet, "h1", "h2") == "echo:hi"


# Measured effects: what a packet, a byte stream or a round trip sees while the fault is on ------

UDP_ECHO = ("import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(120)\n"
            "while True:\n    d, a = s.recvfrom(100); s.sendto(d, a)\n")
UDP_PROBE = ("import socket, sys, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "n = int(sys.argv[3]); got = set(); s.setblocking(False)\n"
             "def drain():\n    while True:\n        try:\n            got.add(int(s.recv(100)))\n"
             "        except BlockingIOError:\n            return\n"
             "for i in range(n):\n    s.sendto(str(i).encode(), (sys.argv[1], int(sys.argv[2])))\n"
             "    time.sleep(0.001); drain()\n"
             "s.setblocking(True); s.settimeout(1.0)\ntry:\n    while len(got) < n:\n"
             "        got.add(int(s.recv(100)))\nexcept OSError:\n    pass\nprint(len(got))\n")
TCP_SINK = ("import socket, sys\ns = socket.socket()\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind((sys.argv[1], int(sys.argv[2])))\ns.listen(); s.settimeout(120)\n"
            "while True:\n    c, _ = s.accept(); c.settimeout(60); n = 0\n"
            "    while (d := c.recv(65536)):\n        n += len(d)\n"
            "    c.sendall(str(n).encode()); c.close()\n")
TCP_SEND = ("import socket, sys, time\nn = int(sys.argv[3]); t = time.monotonic()\n"
            "c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)\n"
            "c.sendall(b'x' * n); c.shutdown(socket.SHUT_WR)\nassert int(c.recv(100)) == n\n"
            "print(n / (time.monotonic() - t))\n")
TIMED_TALK = ("import socket, sys, time\nt = time.monotonic()\n"
              "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n"
              "s.sendall(b'hi'); r = s.recv(100).decode()\nprint(r, (time.monotonic() - t) * 1000)\n")


def in_ns(labnet: LabNet, host: str, code: str, *args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", "netns", "exec", labnet.hosts[host].netns, sys.executable, "-c", code,
                           *args], capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done.stdout.strip() if done.returncode == 0 else ""


def _up(labnet: LabNet, address: str) -> bool:
    return (in_ns(labnet, "h1", UDP_PROBE, address, "9999", "5", check=False) == "5"
            and in_ns(labnet, "h1", TCP_SEND, address, "9998", "1", check=False) != "")


@pytest.fixture
def servers(labnet: LabNet) -> Iterator[None]:
    """A UDP echo (port 9999) and a TCP byte sink (port 9998) on h2."""
    address = labnet.hosts["h2"].address
    procs = [subprocess.Popen(["ip", "netns", "exec", labnet.hosts["h2"].netns, sys.executable, "-c", code,
                               address, port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for code, port in ((UDP_ECHO, "9999"), (TCP_SINK, "9998"))]
    try:
        deadline = time.monotonic() + 30
        while not _up(labnet, address):
            assert time.monotonic() < deadline, "UDP echo / TCP sink on h2 did not come up"
            time.sleep(0.2)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=10)


def test_loss_drops_the_share_asked_then_heals(netctx: FaultContext, labnet: LabNet, servers: None) -> None:
    address, sent = labnet.hosts["h2"].address, 400
    journal = FaultJournal(netctx)
    journal.apply(make_fault("link.loss", "h2", {"pct": 30.0}))
    answered = int(in_ns(labnet, "h1", UDP_PROBE, address, "9999", str(sent)))
    # 30 % each way: a round trip survives with p = 0.7 ** 2 = 0.49 (sd of the count ~ 10)
    assert 0.30 * sent < answered < 0.70 * sent, f"{answered} of {sent} datagrams answered"
    journal.heal_all()
    assert int(in_ns(labnet, "h1", UDP_PROBE, address, "9999", str(sent))) >= 0.98 * sent


def test_bandwidth_caps_the_measured_throughput(netctx: FaultContext, labnet: LabNet, servers: None) -> None:
    address, size = labnet.hosts["h2"].address, 256 * 1024
    rate_bytes_s = 1024 * 1000 / 8                       # 1024 kbit/s
    journal = FaultJournal(netctx)
    journal.apply(make_fault("link.bandwidth", "h2", {"rate_kbit": 1024}))
    capped = float(in_ns(labnet, "h1", TCP_SEND, address, "9998", str(size)))
    assert capped < 1.3 * rate_bytes_s, f"{capped:.0f} B/s through a {rate_bytes_s:.0f} B/s tbf"
    journal.heal_all()
    free = float(in_ns(labnet, "h1", TCP_SEND, address, "9998", str(size)))
    assert free > 4 * rate_bytes_s, f"{free:.0f} B/s after the heal"


def test_delay_is_measured_on_the_round_trip(netctx: FaultContext, labnet: LabNet) -> None:
    address = labnet.hosts["h2"].address
    journal = FaultJournal(netctx)
    fault = make_fault("link.delay", "h1", {"to": "h2", "port": 8080, "delay_ms": 100.0, "jitter_ms": 20.0})
    journal.apply(fault)
    proxy = fault.undo["proxy"]
    reply, ms = in_ns(labnet, "h1", TIMED_TALK, address, "8080").split()
    assert reply == "echo:hi"
    # the request and its answer each wait delay -+ jitter in the proxy: at least 2 * 80 ms
    assert float(ms) >= 160.0, f"round trip {ms} ms through a 100 +- 20 ms proxy"
    assert proxy.connections == 1
    journal.heal(fault)
    reply, _ms = in_ns(labnet, "h1", TIMED_TALK, address, "8080").split()
    assert reply == "echo:hi"
    assert proxy.connections == 1                       # after the heal nothing goes through it
