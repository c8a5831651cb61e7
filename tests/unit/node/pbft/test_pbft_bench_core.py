"""`carbonlab bench core`: replicas with real SQLite ledgers commit every reading, in agreement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.bench.core import Bench, bench_kit
from carbonlab.bench.core_workers import homes_of, run_core_workers
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


def test_replicas_spread_over_worker_processes_commit_every_reading_in_agreement(tmp_path: Path) -> None:
    kit = bench_kit(4, 3)
    batches = [kit.next_batch(f"gw{1 + i % 3}", 4) for i in range(30)]
    result = run_core_workers(4, 3, batches, 4, tmp_path, workers=2, timeout_s=300)
    assert result.readings == dict.fromkeys(kit.genesis.member_ids, 120)
    assert result.blocks >= 1
    homes = homes_of(kit.genesis.member_ids, 2, kit.genesis.primary_of(0))
    assert sorted(homes.values()) == [0, 0, 1, 1]
    heads = set()
    for member, worker in homes.items():
        with Ledger.open(tmp_path / f"worker{worker}" / f"{member}.sqlite", kit.genesis) as ledger:
            heads.add((ledger.height, ledger.head_hash))
            assert ledger.reading_count() == 120
    assert len(heads) == 1


def test_bench_core_prints_the_spread_figure_beside_the_one_process_figure(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "core", "--nodes", "4", "--batches", "8", "--gateways", "2",
                 "--readings", "3", "--workers", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    spread = result["workers"]
    assert spread["processes"] == 2
    assert result["processes"] == 1
    assert spread["ed25519_limit_readings_per_s"] == pytest.approx(
        2 * result["ed25519_limit_readings_per_s"], rel=1e-3)
    assert spread["readings_per_s"] > 0
    assert len(result["load_average"]) == 3


@pytest.mark.parametrize("workers", ["1", "5", "-1"])
def test_bench_core_refuses_a_worker_count_it_cannot_use(workers: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "core", "--nodes", "4", "--batches", "2", "--workers", workers]) != 0
    assert "--workers" in capsys.readouterr().err


@pytest.mark.parametrize(("nodes", "workers"), [(4, 2), (7, 2), (7, 3), (10, 3), (13, 4), (7, 7)])
def test_replicas_are_spread_evenly_with_the_primary_where_there_are_fewer(nodes: int,
                                                                          workers: int) -> None:
    members = tuple(f"n{i}" for i in range(1, nodes + 1))
    for primary in (members[0], members[-1]):
        homes = homes_of(members, workers, primary)
        assert list(homes) == list(members)
        sizes = [list(homes.values()).count(w) for w in range(workers)]
        assert max(sizes) - min(sizes) <= 1
        assert sizes[homes[primary]] == min(sizes)
