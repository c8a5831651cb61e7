"""`carbonlab bench core`: replicas with real SQLite ledgers commit every reading, in agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.bench.core import Bench
from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from carbonlab.node.pbft import RecoveredState, Replica
from carbonlab.node.sim.kit import Kit


def test_bench_core_small_run_prints_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "core", "--nodes", "4", "--batches", "12", "--gateways", "3",
                 "--readings", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["readings_per_s"] > 0
    assert result["ed25519_verify_per_s"] > 0
    assert result["fsync_ms"] > 0
    assert result["ed25519_limit_readings_per_s"] == pytest.approx(
        result["ed25519_verify_per_s"] / 4 * 5, rel=1e-3)
    assert result["ratio_to_ed25519_limit"] > 0
    assert result["blocks"] >= 1


def test_real_ledgers_agree_and_a_replica_restarts_from_its_ledger(tmp_path: Path) -> None:
    kit = Kit.build(4, 2, {"checkpoint_interval": 2, "watermark_window": 8, "max_block_batches": 2,
                           "batch_delay_ms": 0, "request_timeout_ms": 60_000,
                           "view_change_timeout_ms": 60_000})
    bench = Bench(kit, tmp_path)
    try:
        bench.run([kit.next_batch(f"gw{1 + i % 2}", 3) for i in range(6)])
        heads = {m: (ledger.height, ledger.head_hash) for m, ledger in bench.ledgers.items()}
        assert len(set(heads.values())) == 1
        ledger = bench.ledgers["n3"]
        records = ledger.load_consensus_records()
        assert records
        state = ledger.state
        restarted = Replica(kit.genesis, "n3", kit.members["n3"], recovered=RecoveredState(
            records, ledger.height, ledger.head_hash, dict(state.last_batch_seq)))
        assert restarted.last_executed == ledger.height
        assert restarted.stable.seq == ledger.height - ledger.height % 2
    finally:
        bench.close()
    reopened = Ledger.open(tmp_path / "n2.sqlite", kit.genesis)
    try:
        assert reopened.reading_count() == 18
    finally:
        reopened.close()
