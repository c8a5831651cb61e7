"""The open-loop bench's verdicts: which phase kept up, which is the knee, what a node's log says
about its start-up, and how many gateways keep each one's batches apart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from carbonlab.bench.openloop import (
    GATEWAY_GAP_S,
    OpenLoopPoint,
    Relation,
    gateways_for,
    knee,
    knee_ratio,
    open_ended,
)
from carbonlab.bench.startup_split import CPU, StartupSplit, read_split
from carbonlab.cli.bench_openloop import _peer_ratio, knee_said


def point(offered: float, committed: float, p99: float, refused: int = 0, failed: int = 0) -> OpenLoopPoint:
    return OpenLoopPoint(offered, committed, p99 / 2, p99, 100, 100, refused, 0, failed, 1.0)


def test_a_phase_keeps_up_only_when_it_commits_what_was_offered_and_refuses_nothing() -> None:
    assert point(1000, 990, 0.5).within(1.0)
    assert not point(1000, 900, 0.5).keeps_up            # fell behind
    assert not point(1000, 1000, 0.5, refused=1).keeps_up
    assert not point(1000, 1000, 0.5, failed=1).keeps_up
    assert not point(1000, 1000, 1.2).within(1.0)        # kept up, but too late


def test_the_knee_is_the_highest_committed_rate_within_the_bound() -> None:
    points = [point(1000, 1000, 0.2), point(1500, 1490, 0.6), point(2250, 2000, 3.0)]
    assert knee(points, 1.0) == points[1]
    assert knee(points, 0.5) == points[0]
    assert knee([point(1000, 500, 9.0)], 1.0) is None


def test_a_ladder_with_every_phase_within_the_bound_gives_a_lower_bound_not_theknee_said() -> None:
    # a quick sitting kept every phase of the old 8-step ladder within the bound, and the bench
    # printed its top rate (5,126) as the knee and divided by the peer's top rate as a ratio
    within = [point(300, 300, 0.1), point(450, 450, 0.2), point(675, 675, 0.9)]
    assert open_ended(within, 1.0)
    assert not open_ended([*within, point(1012, 1012, 1.4)], 1.0)
    assert not open_ended([*within, point(1012, 700, 0.4)], 1.0)      # fell behind
    assert not open_ended([], 1.0)
    said = knee_said({"knee": asdict(within[-1]), "open_ended": True})
    assert said.startswith(">= 675 readings/s")
    assert "above the ladder's top" in said
    assert knee_said({"knee": asdict(within[-1]), "open_ended": False}).startswith("675 readings/s")
    assert knee_said({"knee": None, "open_ended": False}) == "none"
    # the sweep's form: the rate alone, the same lower bound
    assert knee_said({"knee": asdict(within[-1]), "open_ended": True}, latency=False).startswith(
        ">= 675 readings/s (every phase within the bound")


def test_a_ratio_of_knees_says_how_far_it_holds() -> None:
    assert knee_ratio(1500, False, 3000, False) == (0.5, Relation.EXACT)
    assert knee_ratio(1500, True, 3000, False) == (0.5, Relation.AT_LEAST)
    assert knee_ratio(1500, False, 3000, True) == (0.5, Relation.AT_MOST)
    assert knee_ratio(1500, True, 3000, True) == (0.5, Relation.UNKNOWN)
    ours = {"knee": asdict(point(5126, 5126, 0.9)), "open_ended": False}
    theirs = {"knee": asdict(point(5124, 5124, 0.3)), "open_ended": True}
    assert _peer_ratio(ours, theirs) == (1.0, "<=")
    assert _peer_ratio(ours, {"knee": None, "open_ended": False}) == (None, None)


def test_each_gateway_sends_at_most_one_batch_per_gap() -> None:
    for rate, per_batch in ((100, 1), (6000, 20), (20000, 200)):
        gateways = gateways_for(rate, per_batch)
        assert rate / per_batch / gateways <= 1 / GATEWAY_GAP_S


def test_start_up_times_come_from_the_node_log_after_the_offset(tmp_path: Path) -> None:
    log = tmp_path / "n1.log"
    old = [{"msg": "node started", "since_process_start_s": 9.0}]
    new = [{"msg": "imported", "since_process_start_s": 0.5, "cpu_s": 0.4},
           {"msg": "ledger opened", "height": 3, "since_process_start_s": 0.75},
           {"msg": "recovered", "height": 3, "since_process_start_s": 1.0},
           {"msg": "node started", "since_process_start_s": 1.25},
           {"msg": "p2p linked", "peers": 6, "since_process_start_s": 1.5},
           {"msg": "first vote", "kind": "prepare", "since_process_start_s": 1.75},
           {"msg": "first vote", "kind": "commit", "since_process_start_s": 7.0},
           {"msg": "imported", "since_process_start_s": "soon"}]
    head = "".join(json.dumps(x) + "\n" for x in old)
    log.write_text(head + "not json\n[1]\n" + "".join(json.dumps(x) + "\n" for x in new))
    split = read_split(log, len(head))
    assert split == StartupSplit(0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
    assert split.complete
    assert split.steps() == [("import", 0.5), ("ledger open", 0.25), ("replica rebuild", 0.25),
                             ("p2p linked", 0.5), ("first vote", 0.25), ("beside them, API serving", 0.25)]
    # the vote before the link was logged (or with no link logged): counted from the rebuild
    assert dict(StartupSplit(0.5, 0.75, 1.0, 2.0, 1.5, 1.25).steps())["first vote"] == 0.25
    assert dict(StartupSplit(0.5, 0.75, 1.0, None, None, 1.25).steps())["first vote"] == 0.25
    assert read_split(log, 0).serving_s == 9.0
    assert read_split(log, len(head), CPU) == StartupSplit(imported_s=0.4)
    assert read_split(tmp_path / "missing.log") == StartupSplit()
    assert not StartupSplit(0.5).complete
    assert "replica rebuild -" in StartupSplit(0.5).line()


def test_process_age_counts_from_the_process_start() -> None:
    # a child's age, read just before it exits, is within the wall time we saw it live
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", "from carbonlab.node.driver import process_age_s; "
                          "print(process_age_s())"], capture_output=True, text=True, check=True, timeout=120)
    lived_s = time.monotonic() - started
    assert 0 <= float(out.stdout) <= lived_s + 0.02   # /proc counts in 10 ms ticks


def test_a_phase_line_says_why_the_node_rejected_what_it_rejected() -> None:
    """`rejected 1` alone left a reader guessing whether the contract or the bench was wrong."""
    from carbonlab.cli.bench_openloop import _fmt

    p = OpenLoopPoint(6000, 5985, 1.1, 2.2, 100, 99, 0, 2, 0, 1.0,
                      rejected_reasons={"replay_batch": 2})
    assert "rejected 2 (replay_batch 2)  failed 0" in _fmt(asdict(p))
    clean = asdict(point(1000, 1000, 0.5))
    assert "rejected 0  failed 0" in _fmt(clean)
    del clean["rejected_reasons"]                       # a point saved before the field existed
    assert "rejected 0  failed 0" in _fmt(clean)
