"""Scenario files: the shipped catalogue loads; a bad file fails naming the file, field and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.rig.errors import ScenarioError
from carbonlab.rig.scenario import Expect, find, load, shipped


def test_shipped_catalogue_covers_the_issue() -> None:
    names = {s.name for s in shipped()}
    assert names == {"primary-killed", "two-killed-restarted", "partition-2-5", "three-killed",
                     "two-crashed-two-malicious", "gateway-killed-during-upload", "uplink-cut",
                     "meter-drift-stuck", "tampered-ledger", "stranger-and-replay", "link-faults"}
    assert {s.fault for s in find("link-faults").timeline} == {"link.loss", "link.bandwidth", "link.delay"}
    three = find("three-killed")
    assert three.expect.progress is False
    assert [s.target for s in three.timeline] == ["n5", "n6", "n7"]
    assert find("partition-2-5").needs == ("netns",)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nduration_s: 10\n", "timeline: is required"),
    ("name: x\nduration_s: 10\ntimeline: []\nbogus: 1\n",
     r"bogus: unknown field; allowed: duration_s, expect, name"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 1, fault: node.melt, target: n1}\n",
     r"timeline\[0\]\.fault: unknown fault 'node\.melt'"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 5, fault: node.kill, target: n1, for_s: 9}\n",
     r"timeline\[0\]: reaches past duration_s=10"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 1, fault: link.loss, target: n1, params: {pct: 500}}\n",
     r"timeline\[0\]: fault link\.loss: parameter pct: 500\.0 is above 100"),
    ("name: x\nduration_s: 10\ntimeline: []\nexpect: {report_only: [speed]}\n",
     r"expect\.report_only: unknown invariant"),
    ("name: x\nduration_s: -1\ntimeline: []\n", "duration_s: must be a number >= 1"),
    ("name: x\nduration_s: 10\ntimeline: []\nneeds: [docker]\n", "needs: providers are local, netns, ssh"),
    ("name: [x\n", "not valid YAML"),
    # the name becomes the report folder (rig_cmd: --report DIR / name): no path may escape it
    ("name: ../../etc/evil\nduration_s: 10\ntimeline: []\n", r"name: must be 1-64 letters"),
    ("name: a/b\nduration_s: 10\ntimeline: []\n", r"name: must be 1-64 letters"),
    ("name: ..\nduration_s: 10\ntimeline: []\n", r"name: must be 1-64 letters"),
    # a key given twice is refused (it was: the last one silently won)
    ("name: x\nduration_s: 10\ntimeline: []\nduration_s: 20\n",
     r"duration_s: given twice in one mapping \(lines 2 and 4\)"),
])
def test_bad_scenarios(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)


def test_timeline_is_sorted_and_targets_kept(tmp_path: Path) -> None:
    s = load(write(tmp_path, "name: x\nseed: 3\nduration_s: 30\ntimeline:\n"
                             "  - {at_s: 20, fault: node.kill, target: n2}\n"
                             "  - {at_s: 5, fault: meter.stuck, target: m1, for_s: 10}\n"))
    assert [(st.at_s, st.fault, st.for_s) for st in s.timeline] == [(5.0, "meter.stuck", 10.0),
                                                                   (20.0, "node.kill", None)]
    assert s.seed == 3


def test_unknown_name() -> None:
    with pytest.raises(ScenarioError, match="no scenario 'nope'"):
        find("nope")


def test_seed_paper_scenario_withholds_beyond_f_then_owes_progress() -> None:
    """docs/seed-paper-claim.md: with 2 down and 2 withholding nothing may commit; with one crashed
    member back (3 faulty, 4 voters) still nothing; with both back (2 = f faulty) progress is owed."""
    from carbonlab.rig.invariants import Span, windows

    sc = find("two-crashed-two-malicious")
    members = ("node.kill", "node.byzantine")
    liars = [s for s in sc.timeline if s.fault == "node.byzantine"]
    assert len(liars) == 2
    assert all(s.params["mode"] == "silent" for s in liars)   # they withhold every message
    spans = [Span(s.at_s, s.at_s + s.for_s if s.for_s is not None else sc.duration_s, (s.target,))
             for s in sc.timeline if s.fault in members]
    planned = windows(spans)
    assert [w.faulty for w in planned] == [4, 3, 2]
    assert sc.expect.progress is False     # the stall with 4 and 3 faulty is judged, not just reported
    assert "liveness" not in sc.expect.report_only
    resumed = planned[-1]
    assert set(resumed.members) == {s.target for s in liars}     # progress owed while both still lie
    assert resumed.end - resumed.start >= sc.expect.detect_s + 10    # long enough to be judged


def test_expectation_defaults_and_ranges_are_declared_once(tmp_path: Path) -> None:
    """A scenario without `expect` gets Expect's declared defaults; a bad value names the field."""
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nduration_s: 10\ntimeline: []\n")
    assert load(path).expect == Expect()
    path.write_text("name: x\nduration_s: 10\ntimeline: []\nexpect: {detect_s: .inf}\n")
    with pytest.raises(ScenarioError, match=r"expect\.detect_s: .*must be a number >= 0, got inf"):
        load(path)


@pytest.mark.parametrize(("text", "message"), [
    ("duration_s: 10\ntimeline: []\n", "name: is required"),
    ("name: ''\nduration_s: 10\ntimeline: []\n", "name: must be a non-empty string, got ''"),
    ("name: x\nduration_s: 10\ntimeline: {}\n", "timeline: must be a list of steps"),
    ("name: x\nduration_s: 10\nseed: 1.5\ntimeline: []\n", "seed: must be an integer, got 1.5"),
    ("name: x\nduration_s: 10\nsettle_s: -1\ntimeline: []\n", "settle_s: must be a number >= 0, got -1"),
    ("name: x\nduration_s: 10\ntimeline: [3]\n", r"timeline\[0\]: must be a table, got int"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {fault: node.kill, target: n1}\n",
     r"timeline\[0\]\.at_s: is required"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: -2, fault: node.kill, target: n1}\n",
     r"timeline\[0\]\.at_s: must be a number >= 0, got -2"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 1, fault: node.kill, target: n1, for_s: x}\n",
     r"timeline\[0\]\.for_s: must be a number >= 0, got 'x'"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 1, fault: node.kill, target: n1, when: 3}\n",
     r"timeline\[0\]\.when: unknown field"),
    ("name: x\nduration_s: 10\ntimeline:\n  - {at_s: 1, fault: node.kill, target: n1, params: [1]}\n",
     r"timeline\[0\]\.params: must be a mapping, got list"),
    ("name: x\nduration_s: 10\ntimeline: []\nexpect: {progress: 1}\n",
     r"expect\.progress: must be true or false"),
    ("name: x\nduration_s: 10\ntimeline: []\nexpect: {flagged: m1}\n", r"expect\.flagged: must be a list"),
    ("name: x\nduration_s: 10\ntimeline: []\nexpect: {rejections: [a]}\n",
     r"expect\.rejections: must be a mapping, got list"),
])
def test_a_bad_value_is_refused_naming_file_and_dotted_field(tmp_path: Path, text: str, message: str) -> None:
    """The whole scenario file (top, steps, expect) is read by the shared field layer."""
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=message) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_declared_defaults_fill_what_a_file_leaves_out(tmp_path: Path) -> None:
    s = load(write(tmp_path, "name: x\nduration_s: 10\ntimeline:\n"
                             "  - {at_s: 1, fault: node.kill, target: n1}\n"))
    assert (s.summary, s.seed, s.settle_s, s.needs) == ("", 0, 10.0, ())
    assert s.timeline[0].for_s is None
    assert s.timeline[0].params == {}


def test_not_utf8_is_one_error_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: x\nsummary: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert str(info.value) == f"{path}: not UTF-8 text (invalid byte at offset 20): not a scenario"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    rows = ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9))
    path = write(tmp_path, f'name: x\nduration_s: 10\ntimeline: []\nsummary: [&a0 ["x"], {rows}]\n')
    with pytest.raises(ScenarioError, match="aliases expand to more than 10,000 nodes"):
        load(path)
