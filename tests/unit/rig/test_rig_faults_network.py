"""Network faults on a small real network (root): a bridge, three namespaces with TCP echo
servers, the nft tables and tbf qdiscs the faults create, and the delay fault's redirect."""

from __future__ import annotations

import subprocess
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
