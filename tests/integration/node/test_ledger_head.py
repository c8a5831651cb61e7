"""Real nodes: a tampered meters table does not move served totals; a member's signed head
catches a ledger whose last blocks were cut (`ledger verify --head URL`)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Callable

import httpx
import pytest

from carbonlab.bench.localcluster import CLI, LocalCluster
from carbonlab.node import contract
from carbonlab.node.contract import ContractState
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.head import SignedHead
from carbonlab.node.ledger.state import save_state
from tests.integration.node.conftest import converge, run_feeds

pytestmark = pytest.mark.slow


def emissions(cluster: LocalCluster, member: str) -> list[dict[str, object]]:
    r = httpx.get(f"{cluster.url(member)}/v1/emissions", params={"group_by": "plant"}, timeout=10)
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()["emissions"]
    return rows


def cut_tail(cluster: LocalCluster, member: str, keep: int) -> None:
    """An insider's cut: the blocks above `keep`, their rows, the checkpoints, and the contract
    state rewritten to match what is left."""
    path = cluster.root / "data" / member / "ledger.sqlite"
    with Ledger.open_readonly(path, cluster.genesis) as ledger:
        proposals = [b.proposal for b in ledger.blocks(1, keep)]
    state = ContractState()
    for proposal in proposals:
        contract.execute(cluster.genesis, state, proposal)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        for table in ("blocks", "batches", "readings"):
            db.execute(f"DELETE FROM {table} WHERE height > ?", (keep,))
        for table in ("checkpoints", "gateway_state", "meter_state"):
            db.execute(f"DELETE FROM {table}")
        save_state(db, state, state.last_batch_seq, state.last_reading_seq)
        db.execute("COMMIT")
    finally:
        db.close()


@pytest.mark.timeout(300)
def test_served_totals_ignore_the_meters_table_and_a_cut_tail_is_truncated(
        make_cluster: Callable[..., LocalCluster]) -> None:
    cluster = make_cluster(4, gateways=2)
    cluster.start_all()
    cluster.wait_ready(timeout_s=90)
    members = list(cluster.members)
    run_feeds(cluster, cluster.feeds(), rounds=3, members=members)
    height, head_hash = converge(cluster, members, timeout_s=60)
    victim, witness = "n3", "n1"
    before = emissions(cluster, victim)
    meter = cluster.genesis.meters[0]
    db = sqlite3.connect(cluster.root / "data" / victim / "ledger.sqlite", timeout=10)
    db.execute("UPDATE meters SET company = 'elsewhere', plant = 'p9' WHERE meter_id = ?", (meter.id,))
    db.commit()
    db.close()
    assert emissions(cluster, victim) == before

    r = httpx.get(f"{cluster.url(witness)}/v1/head", timeout=10)
    assert r.status_code == 200, r.text
    head = SignedHead.from_json(r.json())
    assert head.problem(cluster.genesis) is None
    assert head.height >= height
    if head.height == height:
        assert head.block_hash.hex() == head_hash

    cluster.kill(victim, signal.SIGTERM)
    cut_tail(cluster, victim, keep=height - 2)
    out = subprocess.run([*CLI, "ledger", "verify", str(cluster.root / "data" / victim / "ledger.sqlite"),
                          "--genesis", str(cluster.root / "genesis.json"), "--head", cluster.url(witness)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert f"height {height - 1}: truncated: ends at {height - 2}, the consortium's signed head is " \
           f"{head.height}" in lines
    assert any(line.startswith(f"height 0: meter '{meter.id}' in the meters table differs from genesis: "
                               "company 'elsewhere'") for line in lines), lines
