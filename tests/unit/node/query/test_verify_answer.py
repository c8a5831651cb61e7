"""`emissions verify-proofs` as an auditor uses it: an answer that contradicts itself or its
proofs fails naming the row and the field, and what the proofs cannot settle is said.

An outsider's check passed these hand edits of an hourly `--meter --since --until` answer
("ok", exit 0): a substituted or missing share the row's counts do not give, `height` 1 under
proofs of later blocks, a proof dropped with the row's totals lowered to match, and the
answer's `filter.meter` deleted (turning one stack's hour into its company's hour)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carbonlab.cli import main
from carbonlab.node.ledger import Ledger
from carbonlab.node.query import EmissionsFilter, Level, Period, open_source
from carbonlab.node.query.audit import Proven, Scope, seq_findings
from carbonlab.node.query.columns import SUMMED
from carbonlab.node.query.prove import verify_answer
from tests.unit.node.factories import make_kit, make_reading
from tests.unit.node.query.small_ledger import M1, D, build

Answer = dict[str, Any]
HOUR = ["--meter", "m1", "--period", "hour", "--since", str(D), "--until", str(D + 7200)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("answers")
    build(tmp / "l.db").genesis.save(tmp / "genesis.json")
    return tmp / "l.db", tmp / "genesis.json"


def _answer(files: tuple[Path, Path], tmp: Path, args: list[str]) -> Answer:
    out = tmp / "answer.json"
    assert main(["emissions", "query", "--ledger", str(files[0]), *args, "--format", "json",
                 "--proofs", "--out", str(out)]) == 0
    answer: Answer = json.loads(out.read_text())
    return answer


def _verify(files: tuple[Path, Path], tmp: Path, answer: Answer,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp / "edited.json"
    path.write_text(json.dumps(answer))
    capsys.readouterr()
    code = main(["emissions", "verify-proofs", str(path), "--genesis", str(files[1])])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out + out.err


def _drop(row: Answer, meter: str, seq: int) -> None:
    """Take one reading's proof out of a row and lower the row's figures to match."""
    proof = next(p for p in row["proofs"] if (p["reading"]["meter_id"], p["reading"]["seq"]) ==
                 (meter, seq))
    row["proofs"].remove(proof)
    row["readings"] -= 1
    row["substituted"] -= int(proof["reading"]["substituted"])
    for column in SUMMED:
        value = proof["reading"].get(column)
        if value is not None:
            left = row[column] - value
            row[column] = left if row["readings"] else None
    row["substituted_share"] = row["substituted"] / row["readings"] if row["readings"] else 0.0


@pytest.mark.parametrize("args", [
    HOUR, [], ["--level", "meter"], ["--level", "all", "--period", "day"],
    ["--period", "interval", "--level", "meter", "--since", str(D), "--until", str(D + 300)],
    ["--period", "month"], ["--period", "year", "--level", "plant"],
    ["--since", str(D + 60)], ["--until", str(D + 3600)], ["--company", "acme", "--period", "hour"],
    ["--flag", "M", "--period", "day", "--since", str(D), "--until", str(D + 2 * 86_400)],
    ["--measured", "substituted", "--period", "hour"],
    ["--measured", "measured", "--since", str(D), "--until", str(D + 86_400)],
    ["--gas", "co2", "--level", "stack", "--period", "hour", "--since", str(D - 3600),
     "--until", str(D + 7200)],
])
def test_an_unedited_answer_of_any_shape_is_proven(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str]) -> None:
    """The new checks must not fail an honest answer: every period, level, range and filter."""
    code, said = _verify(files, tmp_path, _answer(files, tmp_path, args), capsys)
    assert code == 0, said
    assert said.startswith("ok: ")


EDITS: list[tuple[str, Callable[[Answer], None], int, str]] = [
    ("a substituted share the counts do not give",
     lambda a: a["rows"][0].__setitem__("substituted_share", 0.75), 2,
     "rows[0].substituted_share: 0.75 contradicts the row's own 0 substituted of 3 readings"),
    ("a missing share the counts do not give",
     lambda a: a["rows"][0].__setitem__("missing_share", 0.1), 2, "rows[0].missing_share: 0.1"),
    ("missing and its share lowered together",
     lambda a: a["rows"][0].update(missing=0, missing_share=0.0), 1,
     "missing: 0 claimed, 57 of its expected intervals have no proven reading"),
    ("expected raised with missing to match",
     lambda a: a["rows"][0].update(expected=120, missing=117, missing_share=117 / 120), 1,
     "expected: 120 claimed, the range gives 60"),
    ("a height below the proofs' blocks",
     lambda a: a.__setitem__("height", 1), 1,
     "reading m1/4 is in block 2, above the answer's height 1"),
    ("a proof dropped with the totals lowered",
     lambda a: _drop(a["rows"][0], "m1", 2), 1,
     "missing: 57 claimed, 58 of its expected intervals have no proven reading"),
    ("a proof dropped with the totals and missing lowered",
     lambda a: (_drop(a["rows"][0], "m1", 2),
                a["rows"][0].update(missing=58, missing_share=58 / 60)), 1,
     "reading m1/2 (interval 1700006460) is left out (row 0): the filter selects it and it is "
     "in batch gw1/1 of block 1"),
    ("the filter's meter deleted: one stack's hour claimed as its company's",
     lambda a: a["filter"].pop("meter"), 1, "expected: 60 claimed, the range gives 120"),
    ("a row left out", lambda a: a["rows"].pop(1), 1,
     f"acme: 1 hour period(s) of its range have no row, the first starting {D + 3600}"),
    ("a row given twice", lambda a: a["rows"].append(dict(a["rows"][0], proofs=[])), 1,
     "the same period and group as row 0"),
    ("a row outside the range",
     lambda a: a["rows"].append(dict(a["rows"][1], proofs=[], period_start=D + 7200,
                                     period_end=D + 10_800, readings=0, substituted=0,
                                     substituted_share=0.0, co2_kg=None)), 1,
     "its period lies outside the answer's since/until"),
    ("a row of a group the filter does not select",
     lambda a: a["rows"].append(dict(a["rows"][1], proofs=[], company="globex", readings=0,
                                     substituted=0, substituted_share=0.0, co2_kg=None)), 1,
     "names a group the answer's filter selects no meter of"),
    ("an unknown field in a row", lambda a: a["rows"][0].__setitem__("co2_t", 3.0), 2,
     "rows[0].co2_t: unknown field"),
    ("missing larger than expected",
     lambda a: a["rows"][0].update(missing=61, missing_share=1.0), 2,
     "rows[0].missing: 61 is more than the row's expected (60)"),
]


@pytest.mark.parametrize(("edit", "code", "said"), [e[1:] for e in EDITS],
                         ids=[e[0] for e in EDITS])
def test_an_edited_answer_fails_naming_the_row_and_field(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        edit: Callable[[Answer], None], code: int, said: str) -> None:
    answer = _answer(files, tmp_path, HOUR)
    edit(answer)
    got, printed = _verify(files, tmp_path, answer, capsys)
    assert (got, said in printed) == (code, True), printed


def test_without_a_range_the_deleted_meter_is_said_to_be_unprovable(
        files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without since and until nothing pins the company's other meters' intervals: the
    verdict says so beside the ok, as docs/query.md does."""
    answer = _answer(files, tmp_path, ["--meter", "m1", "--period", "hour"])
    answer["filter"].pop("meter")
    code, said = _verify(files, tmp_path, answer, capsys)
    assert code == 0, said
    assert "note: no since and until: a meter's readings before its first and after its last " \
           "proven one, and meters with no proven reading, may be left out unseen" in said


def test_a_reading_left_out_alone_shows_as_missing_and_as_a_seq_gap(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each reading in a batch of its own: leaving one out (its batch never shown) passes only
    when the row claims its interval missing, and the skipped seq is noted: the contract lets
    seqs skip, so offline it cannot be told from a reading never sent."""
    kit = make_kit()
    readings = [make_reading("m1", s, D + 60 * (s - 1)) for s in range(1, 5)]
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        for h, r in enumerate(readings, start=1):
            ledger.commit(*kit.certified(h, [kit.batch("gw1", h, [r]).encode()]))
    kit.genesis.save(tmp_path / "genesis.json")
    files = (tmp_path / "l.db", tmp_path / "genesis.json")
    answer = _answer(files, tmp_path, ["--meter", "m1", "--period", "hour", "--since", str(D),
                                       "--until", str(D + 3600)])
    _drop(answer["rows"][0], "m1", 2)
    assert _verify(files, tmp_path, answer, capsys)[0] == 1      # still 56 missing claimed
    answer["rows"][0].update(missing=57, missing_share=57 / 60)
    code, said = _verify(files, tmp_path, answer, capsys)
    assert code == 0, said
    assert "note: meter m1: 1 gap(s) in seq between proven readings, the first 2..2" in said


def test_proven_readings_out_of_the_chains_order_fail() -> None:
    """The chain takes a meter's readings in rising seq and time: seq 5 before seq 4's interval
    is not two accepted readings (a proof shows a reading is in a certified block, not that
    its batch was accepted)."""
    kit = make_kit()
    scope = Scope.of(kit.genesis, _empty_result(kit.genesis))
    late, early = make_reading("m1", 4, D + 120), make_reading("m1", 5, D + 60)
    problems, _ = seq_findings(scope, [Proven(late, 0, "", 1), Proven(early, 0, "", 2)])
    assert problems == ["meter m1: readings 4 and 5 overlap or run backwards in time; the chain "
                        "accepts a meter's readings in rising seq and time only"]


def _empty_result(genesis: Any) -> Any:
    from carbonlab.node.query import QueryResult
    return QueryResult(EmissionsFilter(meter="m1"), Period.HOUR, Level.METER,
                       genesis.params.reading_interval_s, (), 0)


def test_verify_answer_is_what_the_command_runs(files: tuple[Path, Path]) -> None:
    with open_source(files[0]) as source:
        result = source.query(EmissionsFilter(meter="m1", since=D, until=D + 7200),
                              period=Period.HOUR, level=Level.COMPANY, proofs=True)
    found = verify_answer(source.genesis, result)
    assert (found.problems, found.notes) == ([], [])
    assert sum(r.readings for r in result.rows) == len(M1[:4])
