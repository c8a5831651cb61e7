"""The organisation's token file: created 0600, refused when others can read it, and the
gate that checks it on every request."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from carbonlab.client import ClientError
from carbonlab.client.auth import COOKIE, TokenGate, load_token, matches, request_token, write_token


def test_a_new_token_file_is_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "lab" / "client-n1.token"
    token = write_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 40
    assert load_token(path) == token
    assert write_token(path) == token          # an existing token is kept


def test_a_token_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t"
    write_token(path)
    path.chmod(0o644)
    with pytest.raises(ClientError, match="0644 lets others read it"):
        load_token(path)


@pytest.mark.parametrize("text", ["", "   \n", "two words", "x" * 300])
def test_a_token_file_without_one_token_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(ClientError, match="expected one token"):
        load_token(path)


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match=r"token file .*nothere"):
        load_token(tmp_path / "nothere")


def test_the_token_is_read_from_a_bearer_header_or_the_cookie() -> None:
    scope = {"headers": [(b"authorization", b"Bearer abc"), (b"cookie", f"x=1; {COOKIE}=def".encode())]}
    assert request_token(scope) == ("abc", "def")
    assert request_token({"headers": [(b"authorization", b"Basic abc")]}) == (None, None)
    assert matches("abc", "abc")
    assert not matches("abc", "abd")
    assert not matches("abc", None)


def test_only_login_health_and_static_are_open() -> None:
    assert TokenGate.is_open("/login")
    assert TokenGate.is_open("/healthz")
    assert TokenGate.is_open("/static/console.css")
    for path in ("/", "/chain", "/events/chain", "/loginx", "/static", "/healthz/x"):
        assert not TokenGate.is_open(path)
