"""The project's one strict JSON reader (carbonlab/jsonfile.py): each hostile input is one
`JsonFileError` (a ValueError) saying what is wrong, never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab import jsonfile


@pytest.mark.parametrize(("data", "said"), [
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),     # RecursionError before
    (b"{" + b'"a":{' * 50_000, "nested too deeply"),
    (b"", "line 1: not valid JSON"),
    (b'{"a": 1, "a": 2}', "the key 'a' is given twice in one object"),
    (b"[NaN]", "NaN is not a JSON value"),
    (b'{"x": -Infinity}', "-Infinity is not a JSON value"),
    # a bare ValueError before, then Python's own "use sys.set_int_max_str_digits()"
    (b"1" * 5000, "not valid JSON (an integer of 5,000 digits: at most 4,300 digits are read)"),
])
def test_every_hostile_document_is_one_error_saying_what_is_wrong(data: bytes, said: str) -> None:
    with pytest.raises(jsonfile.JsonFileError) as caught:
        jsonfile.loads(data)
    assert said in caught.value.problem
    assert "sys." not in caught.value.problem


def test_a_good_document_reads_as_json_does() -> None:
    assert jsonfile.loads('{"a": {"b": 1}, "b": [1.5, null, true, "x"]}') == \
        {"a": {"b": 1}, "b": [1.5, None, True, "x"]}
    assert jsonfile.loads("[" * 500 + "]" * 500) is not None    # deep, but within reach


def test_read_names_the_file_for_every_failure(tmp_path: Path) -> None:
    missing, binary, folder = tmp_path / "missing.json", tmp_path / "bin.dat", tmp_path
    binary.write_bytes(bytes(range(256)) * 20)
    for path, said in ((missing, "cannot read (No such file or directory)"),
                       (folder, "cannot read (Is a directory)"),
                       (binary, "not UTF-8 text")):
        with pytest.raises(jsonfile.JsonFileError) as caught:
            jsonfile.read(path)
        assert str(caught.value).startswith(f"{path}: {said}"), caught.value




def test_a_file_larger_than_the_limit_is_refused_having_read_little(tmp_path: Path) -> None:
    """`/dev/zero` given as a JSON file must not fill the memory: the read stops at the limit."""
    with pytest.raises(jsonfile.JsonFileError) as caught:
        jsonfile.read(Path("/dev/zero"))
    assert "larger than 268,435,456 bytes" in str(caught.value)
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 600 + "0]")
    with pytest.raises(jsonfile.JsonFileError, match="larger than 1,000 bytes"):
        jsonfile.load(big, limit=1000)
