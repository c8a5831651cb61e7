"""`carbonlab compliance position --ledger`: the position read from the chain's accepted
allowance records in a real SQLite ledger (refused records never count)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.apps.compliance.chainrecords import ChainRecords
from carbonlab.cli import main
from carbonlab.node.allowances.records import Allocation, Basis, Statement, Surrender, Transfer
from carbonlab.node.ledger import Ledger
from tests.unit.node.allowances.kit import HASH, YEAR, RecordKit

MARKET = {"data_quality": [{"company": "acme", "year": YEAR, "substituted_share": 0.01, "late_uploads": 0}],
          "market_prices": [{"year": YEAR, "price_per_t": 80.0, "currency": "CNY", "basis": "average"}]}


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, Path]:
    kit = RecordKit.make()
    kit.genesis.save(tmp_path / "genesis.json")
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        requests = [
            kit.sign(Allocation(company="acme", year=YEAR, quantity_t=1000), "n3").encode(),
            kit.sign(Transfer(seller="acme", buyer="globex", year=YEAR, quantity_t=100, price_per_t=79.5,
                              currency="CNY"), "n7").encode(),
            kit.sign(Surrender(company="acme", year=YEAR, quantity_t=850), "n1").encode(),
            kit.sign(Surrender(company="acme", year=YEAR, quantity_t=500), "n1").encode(),   # refused
            kit.sign(Statement(company="acme", year=YEAR, emissions_t=950.0, basis=Basis.CO2, gwp_set=None,
                               manifest_hash=HASH), "n5").encode()]
        p, cert = kit.kit.certified(1, requests)
        ledger.commit(p, cert)
    return tmp_path / "l.db", tmp_path / "genesis.json"


def test_chain_records_hold_only_accepted_records(chain: tuple[Path, Path]) -> None:
    records = ChainRecords.from_ledger(*chain)
    assert [s.quantity_t for s in records.surrenders("acme", YEAR)] == [850.0]
    assert [(a.quantity_t, a.issuer) for a in records.allocations("acme", YEAR)] == [(1000.0, "n3")]
    assert [(t.seller, t.buyer, t.price_per_t, t.settled_by) for t in records.transfers("globex", YEAR)] == [
        ("acme", "globex", 79.5, "n7")]
    statement = records.statement("acme", YEAR)
    assert statement is not None
    assert (statement.emissions_t, statement.verifier, statement.manifest_hash) == (950.0, "n5", HASH)
    assert records.companies() == ["acme", "globex"]


def test_position_from_the_ledger(chain: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    market = tmp_path / "market.json"
    market.write_text(json.dumps(MARKET))
    code = main(["compliance", "position", "--company", "acme", "--year", str(YEAR), "--rules", "cn-ets",
                 "--inputs", str(market), "--ledger", str(chain[0]), "--genesis", str(chain[1]),
                 "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    text = json.dumps(json.loads(out))
    for figure in ('"allocated_t": 1000.0', '"surrendered_t": 850.0', '"emissions_t": 950.0'):
        assert figure in text, text


def test_records_in_inputs_and_on_the_chain_are_refused(chain: tuple[Path, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    market = tmp_path / "market.json"
    market.write_text(json.dumps({**MARKET, "allocations": [
        {"company": "acme", "year": YEAR, "quantity_t": 5, "issuer": "n3"}]}))
    code = main(["compliance", "position", "--company", "acme", "--year", str(YEAR), "--rules", "cn-ets",
                 "--inputs", str(market), "--ledger", str(chain[0]), "--genesis", str(chain[1])])
    assert code == 2
    assert "allocations" in capsys.readouterr().err
