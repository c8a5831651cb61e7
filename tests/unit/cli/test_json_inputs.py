"""Every JSON file a command is given goes through the one strict reader (carbonlab/jsonfile.py):
bytes that are not UTF-8 or JSON nested past the recursion limit are refused in one line naming
the file (exit 2), never a UnicodeDecodeError or RecursionError traceback (an outsider's check
found both in `ledger verify --genesis/--head`, `ledger check-proof`, `emissions query
--genesis`, `emissions verify-proofs` and `report verify --genesis`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carbonlab.cli import main
from tests.unit.node.query.small_ledger import build

Files = dict[str, Path]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    tmp = tmp_path_factory.mktemp("json-inputs")
    kit = build(tmp / "l.db")
    kit.genesis.save(tmp / "genesis.json")
    (tmp / "bin.dat").write_bytes(bytes(range(256))[::-1] * 20)     # starts with 0xff
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp / "twice.json").write_text('{"chain_id": "a", "chain_id": "b"}')
    assert main(["ledger", "proof", str(tmp / "l.db"), "--meter", "m1", "--seq", "1",
                 "--out", str(tmp / "proof.json")]) == 0
    assert main(["ledger", "head", str(tmp / "l.db"), "--out", str(tmp / "head.json")]) == 0
    return {"ledger": tmp / "l.db", "genesis": tmp / "genesis.json", "bin": tmp / "bin.dat",
            "deep": tmp / "deep.json", "twice": tmp / "twice.json", "dir": tmp}


COMMANDS: dict[str, Callable[[Files, Path], list[str]]] = {
    "ledger verify --genesis": lambda f, bad: ["ledger", "verify", str(f["ledger"]),
                                               "--genesis", str(bad)],
    "ledger verify --head": lambda f, bad: ["ledger", "verify", str(f["ledger"]), "--genesis",
                                            str(f["genesis"]), "--head", str(bad)],
    "ledger check-proof PROOF": lambda f, bad: ["ledger", "check-proof", str(bad), "--genesis",
                                                str(f["genesis"])],
    "ledger check-proof --genesis": lambda f, bad: ["ledger", "check-proof",
                                                    str(f["dir"] / "proof.json"), "--genesis", str(bad)],
    "emissions query --genesis": lambda f, bad: ["emissions", "query", "--ledger", str(f["ledger"]),
                                                 "--genesis", str(bad)],
    "emissions verify-proofs ANSWER": lambda f, bad: ["emissions", "verify-proofs", str(bad),
                                                      "--genesis", str(f["genesis"])],
    "emissions verify-proofs --genesis": lambda f, bad: ["emissions", "verify-proofs",
                                                         str(f["dir"] / "proof.json"), "--genesis",
                                                         str(bad)],
    "report verify --genesis": lambda f, bad: ["report", "verify", str(f["dir"]), "--genesis",
                                               str(bad)],
    # with --ledger a --genesis given was not even read: the report was built, rc 0
    "report build --ledger --genesis": lambda f, bad: [*REPORT, "--ledger", str(f["ledger"]),
                                                       "--genesis", str(bad), "--out",
                                                       str(f["dir"] / "report")],
}
REPORT = ["report", "build", "--company", "acme", "--year", "2023", "--template", "cn-power"]


@pytest.mark.parametrize(("bad", "said"), [("bin", "not UTF-8 text"),
                                           ("deep", "nested too deeply to be read"),
                                           ("twice", "the key 'chain_id' is given twice")])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_hostile_json_file_is_one_line_naming_it(
        files: Files, capsys: pytest.CaptureFixture[str], command: str, bad: str, said: str) -> None:
    capsys.readouterr()
    path = files[bad]
    assert main(COMMANDS[command](files, path)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: {said}" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_the_good_files_still_read(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify", str(files["ledger"]), "--genesis", str(files["genesis"]),
                 "--head", str(files["dir"] / "head.json")]) == 0
    assert main(["ledger", "check-proof", str(files["dir"] / "proof.json"), "--genesis",
                 str(files["genesis"])]) == 0
    assert "ok: reading m1/1" in capsys.readouterr().out


@pytest.fixture
def deep_server() -> Iterator[str]:
    """A member (or anything at its address) answering 200 with JSON nested past the recursion
    limit: `response.json()` raised RecursionError through both commands."""
    from tests.recording_http import answering, serve

    with serve(answering(200, "application/json", b"[" * 100_000 + b"]" * 100_000)) as url:
        yield url


def test_a_deep_answer_of_a_node_is_an_error_naming_it(
        files: Files, deep_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["emissions", "query", "--node", deep_server]) == 2
    err = capsys.readouterr().err
    assert f"--node {deep_server}/v1/emissions/query?" in err, err
    assert "HTTP 200, not JSON (nested too deeply to be read)" in err, err
    assert main(["ledger", "verify", str(files["ledger"]), "--genesis", str(files["genesis"]),
                 "--head", deep_server]) == 2
    err = capsys.readouterr().err
    assert f"--head {deep_server}/v1/head: the answer is not JSON (nested too deeply" in err, err


def test_report_build_refuses_a_genesis_that_is_not_the_ledgers_own(
        files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--ledger` with `--genesis`: the genesis given is read and must be the ledger's own; a
    report is not built from another chain than the one named."""
    import json

    other = tmp_path / "other.json"
    raw = json.loads(files["genesis"].read_text())
    raw["chain_id"] += "-other"
    other.write_text(json.dumps(raw))
    capsys.readouterr()
    assert main([*REPORT, "--ledger", str(files["ledger"]), "--genesis", str(other),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"--genesis: {other}: not the genesis of the ledger {files['ledger']}" in err, err
    assert not (tmp_path / "r").exists()
    assert main([*REPORT, "--ledger", str(files["ledger"]), "--genesis", str(files["genesis"]),
                 "--out", str(tmp_path / "r")]) == 0


@pytest.fixture
def web_console() -> Iterator[str]:
    """Something at the --head address answering 401 with a login page (a member's web console)."""
    from tests.recording_http import answering, serve

    body = b"<!doctype html><html><body><form>sign in</form>" + b"<p>x</p>" * 2000 + b"</body></html>"
    with serve(answering(401, "text/html; charset=utf-8", body)) as url:
        yield url


def test_a_head_url_answering_a_web_page_is_refused_in_one_line(
        files: Files, web_console: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's HTML was put into the error."""
    capsys.readouterr()
    assert main(["ledger", "verify", str(files["ledger"]), "--genesis", str(files["genesis"]),
                 "--head", web_console]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--head {web_console}/v1/head: HTTP 401 (a web page, not a member's API" in err, err
    assert "<" not in err, err
    assert len(err.splitlines()) == 1, err
