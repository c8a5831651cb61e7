"""Process and storage faults, applied and healed on real processes and a real ledger file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from carbonlab.node.ledger.store import Ledger
from carbonlab.node.ledger.verify import verify_ledger
from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults import FaultContext, FaultJournal, ServiceRef, describe, make_fault
from carbonlab.rig.faults.byzantine import node_args
from carbonlab.rig.hosts.service import ServiceHost
from tests.unit.node.factories import make_kit
from tests.unit.rig.conftest import sleeper_argv


@pytest.fixture
def ctx(host: ServiceHost, tmp_path: Path) -> FaultContext:
    data = tmp_path / "data"
    data.mkdir()
    for service in ("node-n1", "gateway-gw1"):
        host.start(service, sleeper_argv(tmp_path), str(tmp_path))
    return FaultContext(nodes={"n1": ServiceRef(host, "node-n1", "h1", data / "n1")},
                        gateways={"gw1": ServiceRef(host, "gateway-gw1", "h1", data / "gw1")})


def test_node_kill_stays_down_until_healed(ctx: FaultContext, host: ServiceHost) -> None:
    journal = FaultJournal(ctx)
    before = host.service("node-n1")
    fault = make_fault("node.kill", "n1")
    record = journal.apply(fault)
    killed = host.service("node-n1")
    assert not killed.running
    assert killed.supervisor_state == "held"          # the supervisor does not undo the fault
    assert f"pid {before.pid}" in record.applied
    assert "held down" in record.applied
    assert record.outcome.faulty_members == ("n1",)       # what the liveness windows count
    journal.heal(fault)
    after = host.service("node-n1")
    assert after.running
    assert after.pid != before.pid
    assert after.argv == before.argv
    assert after.supervisor_state == "running"
    assert record.healed_at is not None
    assert record.applied_at is not None
    assert record.healed_at >= record.applied_at
    assert "released node-n1" in str(record.healed)


def test_gateway_kill_comes_back_by_itself(ctx: FaultContext, host: ServiceHost) -> None:
    journal = FaultJournal(ctx)
    before = host.service("gateway-gw1")
    fault = make_fault("gateway.kill", "gw1")
    record = journal.apply(fault)
    assert f"SIGKILL gateway-gw1 pid {before.pid}" in record.applied
    assert record.outcome.faulty_members == ()             # a gateway is no consortium member
    back = host._wait("gateway-gw1", lambda f: f.running and f.pid != before.pid, "the gateway to come back")
    assert back.argv == before.argv
    assert back.supervisor_pid == before.supervisor_pid        # the same supervisor restarted it
    journal.heal(fault)
    assert f"came back by itself as pid {back.pid}" in str(record.healed)
    assert '"signal":"SIGKILL"' in host.logs("gateway-gw1")


def test_pause_heals_with_sigcont(ctx: FaultContext, host: ServiceHost) -> None:
    journal = FaultJournal(ctx)
    fault = make_fault("gateway.pause", "gw1")
    journal.apply(fault)
    assert host.service("gateway-gw1").state == "paused"
    assert journal.heal_all() == []
    assert host.service("gateway-gw1").state == "running"
    assert journal.active() == []


def test_restart_changes_pid(ctx: FaultContext, host: ServiceHost) -> None:
    before = host.service("node-n1").pid
    record = FaultJournal(ctx).apply(make_fault("node.restart", "n1"))
    assert host.service("node-n1").pid != before
    assert "restarted" in record.applied


def test_gateway_kill_heal_all(ctx: FaultContext, host: ServiceHost) -> None:
    journal = FaultJournal(ctx)
    journal.apply(make_fault("gateway.kill", "gw1"))
    journal.apply(make_fault("node.pause", "n1"))
    journal.apply(make_fault("node.kill", "n1"))
    assert journal.heal_all() == []
    assert host.service("gateway-gw1").state == "running"
    assert host.service("node-n1").state == "running"
    assert [r.fault for r in journal.records] == ["gateway.kill", "node.pause", "node.kill"]


def test_ledger_tamper_detected_and_healed(ctx: FaultContext, tmp_path: Path) -> None:
    kit = make_kit(n=4)
    path = ctx.nodes["n1"].data_dir / "ledger.sqlite"
    path.parent.mkdir(parents=True)
    ledger = Ledger.open(path, kit.genesis)
    for h in (1, 2, 3):
        ledger.commit(*kit.certified(h, [kit.next_batch("gw1").encode()]))
    ledger.close()
    assert verify_ledger(path, kit.genesis).ok
    journal = FaultJournal(ctx)
    fault = make_fault("node.tamper_ledger", "n1", {"height": 2})
    record = journal.apply(fault)
    assert "height 2" in record.applied
    assert record.outcome.tampered_height == 2             # what detection is told to find
    assert record.heal_after_checks
    assert journal.active_records() == [record]
    report = verify_ledger(path, kit.genesis)
    assert not report.ok
    assert any(p.startswith("height 2:") and "co2_kg" in p for p in report.problems), report.problems
    journal.heal(fault)
    assert verify_ledger(path, kit.genesis).ok


def test_ledger_tamper_batch_bytes(ctx: FaultContext) -> None:
    kit = make_kit(n=4)
    path = ctx.nodes["n1"].data_dir / "ledger.sqlite"
    path.parent.mkdir(parents=True)
    ledger = Ledger.open(path, kit.genesis)
    ledger.commit(*kit.certified(1, [kit.next_batch("gw1").encode()]))
    ledger.close()
    fault = make_fault("node.tamper_ledger", "n1", {"what": "batch"})
    journal = FaultJournal(ctx)
    journal.apply(fault)
    assert any("batches_root" in p for p in verify_ledger(path, kit.genesis).problems)
    journal.heal(fault)
    assert verify_ledger(path, kit.genesis).ok


def test_disk_full_refuses_a_big_filesystem(ctx: FaultContext) -> None:
    ctx.gateways["gw1"].data_dir.mkdir(parents=True)
    with pytest.raises(FaultError, match="max_fill_mb=1"):
        FaultJournal(ctx).apply(make_fault("gateway.disk_full", "gw1", {"max_fill_mb": 1}))


@pytest.mark.root
def test_disk_full_on_a_small_tmpfs(ctx: FaultContext, host: ServiceHost) -> None:
    import os
    import subprocess
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts a 4 MiB tmpfs")
    data = ctx.gateways["gw1"].data_dir
    data.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(data)], check=True, timeout=30)
    try:
        journal = FaultJournal(ctx)
        fault = make_fault("gateway.disk_full", "gw1", {"max_fill_mb": 8})
        journal.apply(fault)
        with pytest.raises(OSError, match="No space"):
            (data / "outbox.sqlite").write_bytes(b"x" * 200_000)
        journal.heal(fault)
        (data / "outbox.sqlite").write_bytes(b"x" * 200_000)
    finally:
        subprocess.run(["umount", str(data)], check=False, timeout=30)


def test_parameters_checked_before_anything() -> None:
    with pytest.raises(FaultError, match=r"unknown fault 'node\.explode'"):
        make_fault("node.explode", "n1")
    with pytest.raises(FaultError, match="parameter mode is required"):
        make_fault("node.byzantine", "n1")
    with pytest.raises(FaultError, match="'lie' is not one of"):
        make_fault("node.byzantine", "n1", {"mode": "lie"})
    with pytest.raises(FaultError, match="above 100"):
        make_fault("link.loss", "n1", {"pct": 150})
    with pytest.raises(FaultError, match="unknown parameter"):
        make_fault("node.kill", "n1", {"signal": 9})
    with pytest.raises(FaultError, match="no node 'n9'"):
        FaultJournal(FaultContext()).apply(make_fault("node.kill", "n9"))
    with pytest.raises(FaultError, match="netns provider"):
        FaultJournal(FaultContext()).apply(make_fault("node.isolate", "n1"))


def test_catalogue_lists_every_fault_of_the_issue() -> None:
    ids = {f["id"] for f in describe()}
    assert {"node.kill", "node.pause", "node.restart", "node.partition", "node.isolate", "node.byzantine",
            "node.tamper_ledger", "gateway.kill", "gateway.uplink_cut", "gateway.disk_full",
            "meter.offline", "meter.slow", "meter.drift", "meter.stuck", "meter.spike", "meter.exception",
            "meter.calibration", "meter.garbage", "link.loss", "link.bandwidth", "link.delay"} <= ids


def test_node_args_of_command_lines() -> None:
    assert node_args(("/v/bin/python3", "/v/bin/carbonlab", "node", "run", "--config", "a.toml")) == (
        "/v/bin/python3", ("node", "run", "--config", "a.toml"))
    assert node_args((sys.executable, "-c", "x", "node", "run", "--config", "b"))[1][0] == "node"
