"""The simulator: deterministic per seed, invariants that can fail, and the seed sweeps CI runs."""

from __future__ import annotations

import random

import pytest

from carbonlab.cli import main
from carbonlab.node.block import CommitCertificate, Proposal
from carbonlab.node.contract import Verdict
from carbonlab.node.sim.faults import FaultPlan, SimConfigError
from carbonlab.node.sim.invariants import Checker
from carbonlab.node.sim.kit import Kit
from carbonlab.node.sim.sweep import sweep
from carbonlab.node.sim.world import SimResult, World, simulate


def test_a_seed_replays_exactly() -> None:
    a = simulate(5, n=7, faults="mixed", steps=60)
    b = simulate(5, n=7, faults="mixed", steps=60)
    assert a.transcript == b.transcript
    assert a.stats == b.stats


@pytest.mark.parametrize("n", [4, 7, 10])
@pytest.mark.parametrize("faults", ["none", "mixed"])
def test_sizes(n: int, faults: str) -> None:
    for seed in range(3):
        r = simulate(seed, n=n, faults=faults, steps=80)
        assert r.ok, "\n".join(r.violations + r.transcript)
        assert r.stats["batches_accepted"] > 0


def test_checker_catches_a_fork_an_invalid_batch_and_a_double_accept() -> None:
    kit = Kit.build(4, 1)
    good = kit.next_batch("gw1")
    bad = kit.next_batch("gw1", corrupt="co2")
    checker = Checker(kit.genesis, kit.valid)
    p = Proposal(kit.genesis.chain_id, 1, 0, "n1", (good,))
    ok = Verdict(True, None, "", "gw1", 1)
    cert = CommitCertificate(0, 1, p.digest, ())     # no signatures at all
    checker.executed("n1", True, 0, p, cert, b"\1" * 32, [ok], p.requests)
    checker.executed("n2", True, 0, p, cert, b"\2" * 32, [ok], p.requests)
    p2 = Proposal(kit.genesis.chain_id, 2, 0, "n1", (bad, good))
    checker.executed("n1", True, 1, p2, cert, b"\3" * 32, [Verdict(True, None, "", "gw1", 2), ok],
                     p2.requests)
    text = "\n".join(checker.violations)
    assert "certificates:" in text
    assert "agreement: height 1" in text
    assert "validity:" in text
    assert "exactly-once: n1 accepted gw1/1 twice" in text


def test_liveness_violation_is_reported_when_too_many_stay_silent() -> None:
    """Three silent members out of four (f = 1): nothing can commit; the run must say so."""
    plan = FaultPlan("byzantine", byzantine={"n2": "silent", "n3": "silent", "n4": "silent"})
    world = World(1, n=4, steps=30, plan=plan)
    import carbonlab.node.sim.world as w

    old, w.HEAL_LIMIT_MS = w.HEAL_LIMIT_MS, 3000
    try:
        result = world.run()
    finally:
        w.HEAL_LIMIT_MS = old
    assert not result.ok
    assert any(v.startswith("liveness") for v in result.violations)


def test_cli_single_seed_and_sweep(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seed", "2", "--nodes", "4", "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("seed 2: ok")
    assert main(["sim", "--seeds", "0..2", "--nodes", "4", "--steps", "30"]) == 0
    assert "3 seeds, 0 failed" in capsys.readouterr().out


def test_cli_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--nodes", "5"]) == 2
    assert "--nodes: must be 3f + 1" in capsys.readouterr().err
    assert main(["sim", "--seeds", "9..3"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["sim", "--faults", "paper", "--nodes", "4"]) == 2
    assert "needs --nodes 7" in capsys.readouterr().err
    with pytest.raises(SimConfigError):
        FaultPlan.draw(random.Random(0), ("n1",), 0, "chaos", 10)


@pytest.mark.parametrize(("argv", "message"), [
    (["--nodes", "100000"],
     "--nodes: must be 3f + 1 with f >= 1 (4, 7, 10, ...) and at most 1000, got 100000"),
    (["--steps", "99999999999"], "--steps: must be 1..100,000, got 99999999999"),
    (["--steps", "0"], "--steps: must be 1..100,000, got 0"),
    (["--seeds", "0..999999999999"], "--seeds: at most 10,000,000 seeds in one run"),
    (["--workers", "100000"], "--workers: must be 0 (one per core) to 256"),
])
def test_cli_bounds_every_argument_before_running(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                  message: str) -> None:
    # these ran for seconds (a genesis of 100,000 members refused only at build time) or
    # allocated a list of every seed (6 GB for 10**12 seeds) before any seed ran
    assert main(["sim", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sweep_reads_its_seeds_lazily(workers: int) -> None:
    # a trillion seeds: only the first few are ever drawn (a list of them would take 6 GB)
    import itertools

    first = list(itertools.islice(sweep(range(10**12), n=4, faults="none", steps=1, workers=workers), 3))
    assert [r.seed for r in first] == [0, 1, 2]


def test_failing_seed_prints_violations_transcript_and_replay(capsys: pytest.CaptureFixture[str]) -> None:
    from argparse import Namespace

    from carbonlab.cli.sim_cmd import _report

    result = SimResult(42, 7, "mixed", 60, "mode=mixed", ["agreement: height 3 differs"],
                       ["       0 ms  seed 42"], {"height": 3, "fault_phase_height": 2,
                                                  "batches_accepted": 1, "max_view": 0, "messages": 9,
                                                  "dropped_by_network": 0, "fake_ms": 100})
    _report(result, Namespace(json=False, transcript=False), single=True)
    out = capsys.readouterr().out
    assert "VIOLATION agreement: height 3 differs" in out
    assert "| " in out
    assert "replay: carbonlab sim --seed 42 --nodes 7 --faults mixed --steps 60" in out


def test_a_sweep_on_several_processes_gives_the_results_of_one() -> None:
    seeds = range(40, 52)
    alone = list(sweep(seeds, n=7, faults="byzantine", steps=40, workers=1))
    shared = list(sweep(seeds, n=7, faults="byzantine", steps=40, workers=3))
    assert [r.seed for r in shared] == list(seeds)
    assert [(r.plan, r.violations, r.transcript, r.stats) for r in shared] == \
        [(r.plan, r.violations, r.transcript, r.stats) for r in alone]


def test_ci_sweep_500_seeds_n7_mixed() -> None:
    """Issue 2 item 5: CI runs at least 500 random simulator seeds at n = 7 with mixed faults
    (on every core: the seeds are independent)."""
    results = list(sweep(range(500), n=7, faults="mixed", steps=50))
    assert [r.seed for r in results] == list(range(500))
    failed = [f"{r.command()}: {r.violations[:2]}" for r in results if not r.ok]
    assert not failed, "\n".join(failed[:10])


@pytest.mark.slow
@pytest.mark.parametrize(("n", "faults", "count"), [(4, "mixed", 300), (10, "mixed", 100),
                                                     (7, "byzantine", 300), (7, "paper", 100)])
def test_slow_sweeps(n: int, faults: str, count: int) -> None:
    results = list(sweep(range(1000, 1000 + count), n=n, faults=faults, steps=120))
    assert len(results) == count
    bad = [f"{r.command()}: {r.violations[:2]}" for r in results if not r.ok]
    assert not bad, "\n".join(bad[:10])


def test_seed_paper_claim_two_crashed_and_two_byzantine_at_n7() -> None:
    """Issue 2 item 6: 2 crashed + 2 Byzantine of 7 at once. Safety holds and the lies are caught;
    progress stops until a crashed member comes back (only 3 + 1 voters left, 5 needed)."""
    plan = FaultPlan("paper", byzantine={"n2": "silent", "n5": "forge"},
                     crashes=[(0, "n3", 120), (0, "n6", 120)])
    world = World(4, n=7, steps=120, plan=plan)
    result = world.run()
    assert result.ok, "\n".join(result.violations)
    assert result.stats["fault_phase_height"] == 0
    assert result.stats["height"] > 0
    caught = sum(n.replica.dropped[r] for n in world.honest_nodes() if n.replica
                 for r in ("bad_signature", "oversized", "undecodable", "malformed", "above_watermark"))
    assert caught > 0
