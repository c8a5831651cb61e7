"""`carbonlab allowances`: usage errors are named before anything is signed or sent, and the
offline reads print what the ledger holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.cli import main
from carbonlab.node.allowances.records import Allocation
from carbonlab.node.ledger import Ledger
from tests.unit.node.allowances.kit import YEAR, RecordKit

SIGN = ["--node", "http://127.0.0.1:9", "--member", "n3"]


@pytest.mark.parametrize(("args", "named"), [
    (["allocate", "--company", "acme", "--year", "2023", "--quantity-t", "0"], "record.body.quantity_t"),
    (["allocate", "--company", "acme", "--year", "1200", "--quantity-t", "5"], "record.body.year"),
    (["transfer", "--seller", "acme", "--buyer", "acme", "--year", "2023", "--quantity-t", "5",
      "--price-per-t", "3", "--currency", "CNY"], "record.body.buyer"),
    (["transfer", "--seller", "acme", "--buyer", "globex", "--year", "2023", "--quantity-t", "5",
      "--price-per-t", "3", "--currency", "yuan"], "record.body.currency"),
    (["statement", "--company", "acme", "--year", "2023", "--emissions-t", "5", "--manifest-hash", "abc"],
     "record.body.manifest_hash"),
    (["statement", "--company", "acme", "--year", "2023", "--emissions-t", "5", "--basis", "co2e",
      "--manifest-hash", "ab" * 32], "record.body.gwp_set"),
    # the seq was checked only when signing, after the node had been asked for its chain id (probe14)
    (["allocate", "--company", "acme", "--year", "2023", "--quantity-t", "5", "--seq", "-1"], "record.seq"),
    (["allocate", "--company", "acme", "--year", "2023", "--quantity-t", "5", "--seq", str(2**64)],
     "record.seq"),
])
def test_a_bad_value_is_named_before_signing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str], named: str) -> None:
    key = tmp_path / "missing.key"        # never read: the body is checked first
    code = main(["allowances", *args, *SIGN, "--key", str(key)])
    assert code == 2
    assert named in capsys.readouterr().err


def test_a_missing_key_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["allowances", "allocate", "--company", "acme", "--year", "2023", "--quantity-t", "5",
                 *SIGN, "--key", str(tmp_path / "n3.key")])
    assert code == 2
    assert "n3.key: cannot read key file" in capsys.readouterr().err


def test_an_unreachable_node_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kit = RecordKit.make()
    kit.kit.members["n3"].save(tmp_path / "n3.key")
    code = main(["allowances", "allocate", "--company", "acme", "--year", "2023", "--quantity-t", "5",
                 *SIGN, "--key", str(tmp_path / "n3.key")])
    assert code == 2
    assert "http://127.0.0.1:9/v1/status: cannot reach the node" in capsys.readouterr().err


def test_offline_balance_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kit = RecordKit.make()
    kit.genesis.save(tmp_path / "genesis.json")
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        p, cert = kit.kit.certified(1, [kit.sign(Allocation(company="acme", year=YEAR, quantity_t=42),
                                                 "n3").encode()])
        ledger.commit(p, cert)
    offline = ["--ledger", str(tmp_path / "l.db"), "--genesis", str(tmp_path / "genesis.json")]
    assert main(["allowances", "balance", "--company", "acme", "--year", str(YEAR), *offline]) == 0
    assert json.loads(capsys.readouterr().out)["held_t"] == 42
    assert main(["allowances", "history", "--company", "acme", "--kind", "allocation", *offline]) == 0
    [entry] = json.loads(capsys.readouterr().out)["records"]
    assert (entry["status"], entry["height"], entry["record"]["signer"]) == ("committed", 1, "n3")
    assert main(["allowances", "balance", "--company", "acme", "--year", str(YEAR),
                 "--ledger", str(tmp_path / "l.db")]) == 2
    assert "--ledger needs --genesis" in capsys.readouterr().err
