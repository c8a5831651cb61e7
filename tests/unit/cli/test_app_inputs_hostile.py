"""The application commands (`allowances`, `compliance`, `plan`, `forecast`) against an outside
tester's hostile inputs: a key file that never ends, URLs httpx cannot parse, a seq years ahead,
a currency that is no currency, numbers Python reads but a person does not write, negative
seeds. Each is refused with exit 2 naming the option, never a traceback or a hang."""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import pytest

from carbonlab.boundedread import TooLargeError, read_limited
from carbonlab.cli import main
from carbonlab.cli.argtypes import integer, number
from carbonlab.node.crypto import MAX_KEY_FILE_BYTES

ALLOCATE = ["allowances", "allocate", "--company", "acme", "--year", "2023", "--quantity-t", "5",
            "--member", "n3"]
UNREACHABLE = ["--node", "http://127.0.0.1:9"]


def rc(argv: list[str]) -> int:
    """`main`'s exit code, also when argparse refuses an argument (SystemExit 2)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_key_file_that_never_ends_is_read_only_so_far(device: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # read whole, /dev/zero took 5 GB in 3 s
    assert main([*ALLOCATE, *UNREACHABLE, "--key", device]) == 2
    err = capsys.readouterr().err
    assert f"{device}: not a PEM private key (larger than {MAX_KEY_FILE_BYTES:,} bytes" in err


def test_a_fifo_key_without_a_writer_does_not_hang(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main([*ALLOCATE, *UNREACHABLE, "--key", str(fifo)]) == 2
    assert time.monotonic() - started < 10
    assert f"{fifo}: not a PEM private key" in capsys.readouterr().err


def test_the_bounded_reader_reads_at_most_its_limit_plus_one(tmp_path: Path) -> None:
    with pytest.raises(TooLargeError, match="larger than 10 bytes"):
        read_limited(Path("/dev/zero"), 10)
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert read_limited(path, 10) == b"0123456789"


@pytest.mark.parametrize("url", ["http://256.0.0.1", "http://[::1", "ftp://127.0.0.1:8080", "http://"])
@pytest.mark.parametrize("argv", [
    [*ALLOCATE, "--key", "k.pem"],
    ["allowances", "balance", "--company", "acme", "--year", "2023"],
    ["allowances", "history", "--company", "acme"],
    ["compliance", "position", "--company", "acme", "--year", "2025", "--rules", "cn-ets",
     "--inputs", "m.json"],
    ["forecast", "price"],
    ["forecast", "emissions"],
    ["plan", "dispatch", "--units", "u.json", "--demand", "d.csv", "--cap-from-chain", "acme"],
    # these took --node as given: an httpx.InvalidURL traceback
    ["emissions", "query"], ["emissions", "structure"],
    ["report", "build", "--company", "acme", "--year", "2026", "--template", "cn-power", "--out", "r",
     "--genesis", "g.json"],
    ["report", "statement", "r", "--genesis", "g.json"],
    ["client", "--token-file", "t", "--genesis", "g.json", "--listen", "127.0.0.1:29999"],
])
def test_an_unparsable_node_url_is_refused_by_the_one_check(argv: list[str], url: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert rc([*argv, "--node", url]) == 2         # an httpx.InvalidURL traceback (exit 1) before
    err = capsys.readouterr().err
    assert "argument --node: invalid URL" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("url", ["http://256.0.0.1", "http://[::1", "HTTPS://256.0.0.1:8080"])
def test_an_unparsable_head_url_is_refused_by_the_same_check(url: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert rc(["ledger", "verify", "--genesis", "g.json", "--head", url, "l.db"]) == 2
    err = capsys.readouterr().err
    assert "argument --head: invalid URL" in err, err
    assert "Traceback" not in err


def test_an_explicit_seq_far_ahead_needs_far_seq(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "never-read.pem"
    assert main([*ALLOCATE, *UNREACHABLE, "--key", str(key), "--seq", "1900000000000000"]) == 2
    err = capsys.readouterr().err
    assert "--seq: 1900000000000000 is more than a day ahead of the time in µs" in err
    assert "Add --far-seq if that is meant" in err
    # said to be meant: it goes on to the key file
    assert main([*ALLOCATE, *UNREACHABLE, "--key", str(key), "--seq", "1900000000000000", "--far-seq"]) == 2
    assert "never-read.pem: cannot read key file" in capsys.readouterr().err


@pytest.mark.parametrize("currency", ["XXX", "QQQ", "XTS"])
def test_a_transfer_in_no_iso_currency_is_refused_before_signing(currency: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["allowances", "transfer", "--seller", "acme", "--buyer", "globex", "--year", "2023",
            "--quantity-t", "5", "--price-per-t", "80", "--currency", currency, "--member", "n7",
            *UNREACHABLE, "--key", str(tmp_path / "never-read.pem")]
    assert main(argv) == 2
    assert f"record.body.currency: must be an ISO 4217 currency code such as CNY or EUR, got '{currency}'" \
        in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "option"), [
    (["forecast", "price", "--generate", "-1", "--days", "100"], "--generate"),
    (["forecast", "emissions", "--records", "r.csv", "--allowance-t", "2000000", "--seed", "-1"], "--seed"),
    (["forecast", "backtest", "--seed", "-1"], "--seed"),                 # after 23 s of emulation before
])
def test_a_negative_seed_is_refused_while_parsing(argv: list[str], option: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert rc(argv) == 2
    assert time.monotonic() - started < 5
    assert f"argument {option}: must be in 0..9223372036854775807, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["\u0663", "1_000", "+", "", " ", "0x10", "1e3"])
def test_whole_numbers_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be a whole number in ASCII digits"):
        integer()(text)


@pytest.mark.parametrize("text", ["\u0663", "1_000.5", "nan", "inf", "-inf", "1e400", "0x1p3"])
def test_numbers_take_finite_ascii_decimals_only(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        number()(text)


def test_a_negative_zero_is_zero() -> None:
    value = number()("-0.0")
    assert value == 0.0
    assert math.copysign(1.0, value) == 1.0      # committed as -0.0 before
    assert number()("1e3") == 1000.0
    assert integer(0, 10)("10") == 10
    with pytest.raises(argparse.ArgumentTypeError, match=r"must be in 0..10, got 11"):
        integer(0, 10)("11")


def test_quantity_in_arabic_indic_digits_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["allowances", "allocate", "--company", "acme", "--year", "2023", "--quantity-t", "\u0663",
            "--member", "n3", *UNREACHABLE, "--key", str(tmp_path / "k")]
    assert rc(argv) == 2
    assert "argument --quantity-t: must be a whole number in ASCII digits" in capsys.readouterr().err
