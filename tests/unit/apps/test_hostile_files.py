"""Hostile input files given to the application modules' commands: bytes that are not UTF-8,
JSON nested deeper than the recursion limit, a key given twice in one object. Each is refused
with one line naming the file (exit 2), never a traceback and never the last key silently
winning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab import jsonfile
from carbonlab.cli import main

RECORDS = Path(__file__).parent / "compliance" / "testdata" / "records.json"
UNITS = {"units": [{"unit": "U1", "capacity_mw": 600, "min_mw": 240, "ramp_mw_per_h": 300,
                    "curve": {"a": 48.9, "b": 0.766, "c": 6.7e-5}}]}
HOSTILE = {
    "not-utf8": (b"\xff\xfe{}", "not UTF-8 text"),
    "deep": (b"[" * 100_000, "nested too deeply"),
    "empty": (b"", "line 1: not valid JSON"),
}


def test_the_reader_refuses_a_key_given_twice() -> None:
    with pytest.raises(jsonfile.JsonFileError, match="the key 'quantity_t' is given twice"):
        jsonfile.loads('{"a": [{"quantity_t": 50, "quantity_t": 5}]}')
    assert jsonfile.loads('{"a": {"b": 1}, "b": {"a": 2}}') == {"a": {"b": 1}, "b": {"a": 2}}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_compliance_records_are_refused_by_file(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "records.json"
    bad.write_bytes(HOSTILE[case][0])
    rc = main(["compliance", "position", "--company", "north-power", "--year", "2025", "--rules", "cn-ets",
               "--inputs", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{bad}: field '(file)': {HOSTILE[case][1]}" in err


def test_a_duplicated_record_field_is_refused_not_overwritten(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    text = RECORDS.read_text().replace('"quantity_t": 600000',
                                       '"quantity_t": 900000, "quantity_t": 600000', 1)
    assert text != RECORDS.read_text()
    bad = tmp_path / "records.json"
    bad.write_text(text)
    rc = main(["compliance", "position", "--company", "north-power", "--year", "2025", "--rules", "cn-ets",
               "--inputs", str(bad)])
    assert rc == 2
    assert "the key 'quantity_t' is given twice in one object" in capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_planning_units_and_demand_are_refused_by_file(case: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    units, demand = tmp_path / "units.json", tmp_path / "demand.csv"
    units.write_bytes(HOSTILE[case][0])
    demand.write_text("hour,demand_mw\n0,300\n")
    assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand)]) == 2
    assert f"{units}: {HOSTILE[case][1]}" in capsys.readouterr().err
    units.write_text(json.dumps(UNITS))
    demand.write_bytes(b"hour,demand_mw\n0,\xff300\n")
    assert main(["plan", "dispatch", "--units", str(units), "--demand", str(demand)]) == 2
    assert f"{demand}: not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(("data", "problem"), [(b"\xff\xfe name: x\n", "not UTF-8 text (byte 0)"),
                                               (b"[" * 100_000, "nested too deeply to be read")])
def test_a_rule_set_file_that_cannot_be_read_is_refused_by_file(data: bytes, problem: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_bytes(data)
    assert main(["compliance", "rules", str(bad)]) == 2
    assert f"{bad}: field '(file)': {problem}" in capsys.readouterr().err
