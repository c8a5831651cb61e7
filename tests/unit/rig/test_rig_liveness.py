"""Liveness on recorded facts (sampled heights and fault windows): the verdicts and the summary line
say how many members were faulty where the height advanced and where it stood still."""

from __future__ import annotations

from carbonlab.rig.invariants import Window, liveness

F = 2   # n = 7


def heights(stalled_until: int, top: int = 95) -> list[tuple[float, dict[str, int | None]]]:
    """One sample a second: the height stands at 12 until `stalled_until`, then one block a second;
    n6 and n7 (crashed) do not answer while they are down."""
    out: list[tuple[float, dict[str, int | None]]] = []
    for t in range(top):
        h = 12 if t < stalled_until else 12 + t - stalled_until
        row: dict[str, int | None] = dict.fromkeys(("n1", "n2", "n3", "n4", "n5"), h)
        row["n6"] = None if 5 <= t < 35 else h
        row["n7"] = None if 5 <= t < 60 else h
        out.append((float(t), row))
    return out


# the seed paper's scenario as run: n1 n2 silent all along, n6 back at 35 s, n7 back at 60 s
SEED_PAPER = [Window(5.0, 35.0, 4, ("n1", "n2", "n6", "n7")), Window(35.0, 60.0, 3, ("n1", "n2", "n7")),
              Window(60.0, 95.0, 2, ("n1", "n2"))]


def test_summary_names_the_faulty_counts_of_a_stall_beyond_f_and_the_resumption() -> None:
    live = liveness(heights(stalled_until=68), SEED_PAPER, F, converged_after_s=8.0, recovery_s=150,
                    final={"n1": 38}, expect_progress=False, grace_s=20.0)
    assert live.passed, live.evidence
    assert live.summary == ("height stood still with 4 and 3 faulty (more than f=2, as owed); "
                            "advanced with 2 faulty (at most f=2); every node caught up "
                            "(8.0 s after the last heal)")
    assert live.evidence[0] == "5.0..35.0 s (4 faulty: n1 n2 n6 n7): height 12 -> 12, no commit beyond f"
    assert live.evidence[2] == "60.0..95.0 s (2 faulty: n1 n2): height 24 -> 38"
    assert [w["verdict"] for w in live.data["windows"]] == ["STALL", "STALL", "PROGRESS"]


def test_progress_beyond_f_is_reported_as_beyond_f_never_as_at_most_f() -> None:
    # the old scenario: 4 faulty (an equivocating backup votes honestly) and commits went on
    four = [Window(5.0, 55.0, 4, ("n1", "n2", "n6", "n7"))]
    live = liveness(heights(stalled_until=31), four, F, converged_after_s=3.0, recovery_s=150,
                    final={"n1": 70}, grace_s=20.0)
    assert live.passed
    assert "at most f" not in live.summary
    assert live.summary.startswith("height advanced with 4 faulty (more than f=2: reported, not judged)")


def test_a_commit_where_the_scenario_rules_it_out_breaks_liveness_and_says_with_how_many() -> None:
    live = liveness(heights(stalled_until=40), SEED_PAPER, F, converged_after_s=8.0, recovery_s=150,
                    final={"n1": 60}, expect_progress=False, grace_s=20.0)
    assert not live.passed
    assert live.summary.startswith("liveness broken: height advanced with 3 faulty (more than f=2, "
                                   "which the scenario rules out); stood still with 4 faulty")
    assert live.evidence[1] == ("35.0..60.0 s (3 faulty: n1 n2 n7): height advanced 12 -> 32 "
                                "with more than f faulty")


def test_a_stall_with_at_most_f_and_no_convergence_are_both_in_the_summary() -> None:
    live = liveness(heights(stalled_until=95), SEED_PAPER, F, converged_after_s=None, recovery_s=150,
                    final={"n1": 12, "n6": 3}, expect_progress=False, grace_s=20.0)
    assert not live.passed
    assert live.summary == ("liveness broken: height stood still with 2 faulty (at most f=2); stood still "
                            "with 4 and 3 faulty (more than f=2, as owed); the nodes did not reach one "
                            "height within 150 s of the last heal")


def test_unjudged_windows_are_named_not_counted_as_progress() -> None:
    short = [Window(5.0, 20.0, 1, ("n3",))]
    live = liveness(heights(stalled_until=95), short, F, converged_after_s=1.0, recovery_s=30,
                    final={"n1": 12}, grace_s=20.0)
    assert live.passed
    assert live.summary.startswith("height not judged with 1 faulty (window too short or no answer)")
    none = liveness(heights(stalled_until=0), [], F, converged_after_s=1.0, recovery_s=30, final={"n1": 12})
    assert none.summary.startswith("no fault window long enough to judge the height; every node caught up")


def test_windows_count_a_member_once_however_many_faults_hold_it() -> None:
    from carbonlab.rig.invariants import Span, windows

    spans = [Span(5.0, 35.0, ("n6",)), Span(5.0, 60.0, ("n7",)), Span(20.0, 50.0, ("n6", "n7")),
             Span(5.2, 95.0, ("n1",))]
    three = ("n1", "n6", "n7")
    assert windows(spans) == [Window(5.2, 20.0, 3, three), Window(20.0, 35.0, 3, three),
                              Window(35.0, 50.0, 3, three), Window(50.0, 60.0, 2, ("n1", "n7")),
                              Window(60.0, 95.0, 1, ("n1",))]
