"""`dashboards push` against real sockets that are not Grafana: a login page answering 200, an
error page, a server that never answers, and arguments that cannot work."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.cli import main
from tests.recording_http import answering, serve


def _server(status: int, body: bytes, content_type: str) -> Iterator[str]:
    with serve(answering(status, content_type, body)) as url:
        yield url


@pytest.fixture
def login_page() -> Iterator[str]:
    yield from _server(200, b"<html>login page</html>", "text/html; charset=utf-8")


@pytest.fixture
def error_page() -> Iterator[str]:
    yield from _server(501, b"<html><body>" + b"<p>Not Implemented</p>\n" * 500 + b"</body></html>",
                       "text/html")


def test_a_login_page_answering_200_is_not_success(login_page: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "push", "--url", login_page, "--timeout", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""                       # it printed a success
    assert captured.err == (f"carbonlab: error: {login_page}: not a Grafana API answer (text/html) to read "
                            "the carbonlab folder: is this Grafana's address?\n")


def test_an_error_page_is_one_line_not_the_page(error_page: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "push", "--url", error_page, "--timeout", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert len(err) < 300
    assert f"Grafana at {error_page} refused to read the carbonlab folder: HTTP 501" in err


def test_a_silent_server_is_no_answer_within_the_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as silent:                 # accepts (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        assert main(["dashboards", "push", "--url", url, "--timeout", "0.5"]) == 2
    assert capsys.readouterr().err == (f"carbonlab: error: Grafana at {url}: no answer within 0.5 s to "
                                       "read the carbonlab folder\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["push", "--url", "http://127.0.0.1:1", "--timeout", "0"], "must be in 0.001..300, got '0'"),
    (["push", "--url", "http://127.0.0.1:1", "--timeout", "-1"], "must be in 0.001..300, got '-1'"),
    (["push", "--url", "http://127.0.0.1:1", "--timeout", "nan"], "ASCII digits, got 'nan'"),
    (["push", "--url", "http://127.0.0.1:99999"], "invalid URL 'http://127.0.0.1:99999'"),
    (["build", "--out", "x", "--scrape-interval", "5 parsecs"], "'5 parsecs': not a Prometheus duration"),
    (["build", "--out", "x", "--scrape-interval", "abc"], "'abc': not a Prometheus duration"),
    (["build", "--out", "x", "--scrape-interval", "0s"], "'0s': not a Prometheus duration above 0"),
    (["build", "--out", "x", "--prometheus-url", "not a url"], "invalid URL 'not a url'"),
])
def test_arguments_that_cannot_work_are_refused(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                message: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["dashboards", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("data", "message"), [
    (None, "/dev/zero: cannot read targets: larger than 16,777,216 bytes"),
    (b"- {role: node, address: \xff}\n", "cannot read targets: not UTF-8 text (invalid byte at offset 24)"),
    (b"- {role: node, role: gateway}\n", "cannot read targets: given twice in one mapping"),
])
def test_a_targets_file_is_read_bounded_and_strictly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     data: bytes | None, message: str) -> None:
    targets = Path("/dev/zero")          # it hung, reading until memory ran out
    if data is not None:
        targets = tmp_path / "t.yaml"
        targets.write_bytes(data)
    out = tmp_path / "p.yml"
    assert main(["dashboards", "scrape-config", "--targets", str(targets), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
