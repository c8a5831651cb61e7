"""Allowance records in a real SQLite ledger: executed in blocks beside batches, refused ones
kept with their reason, balances derived from the ledger (also after reopening), and
`verify_ledger` re-running the contract over them (a hand-edited row is named)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbonlab.node.allowances.answers import RecordState
from carbonlab.node.allowances.contract import RecordReason
from carbonlab.node.allowances.records import Allocation, Basis, Kind, Statement, Surrender, Transfer
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.errors import LedgerError
from carbonlab.node.ledger.verify import verify_ledger
from tests.unit.node.allowances.kit import HASH, YEAR, RecordKit


def commit(ledger: Ledger, kit: RecordKit, requests: list[bytes]) -> None:
    p, cert = kit.kit.certified(ledger.height + 1, requests)
    ledger.commit(p, cert)


def build(path: Path) -> RecordKit:
    kit = RecordKit.make()
    with Ledger.open(path, kit.genesis) as ledger:
        commit(ledger, kit, [
            kit.sign(Allocation(company="acme", year=YEAR, quantity_t=1000), "n3").encode(),
            kit.kit.next_batch("gw1").encode(),
            kit.sign(Allocation(company="globex", year=YEAR, quantity_t=50), "n4").encode()])
        commit(ledger, kit, [
            kit.sign(Transfer(seller="acme", buyer="globex", year=YEAR, quantity_t=300,
                              price_per_t=81.25, currency="CNY"), "n7").encode(),
            kit.sign(Surrender(company="globex", year=YEAR, quantity_t=400), "n2").encode(),  # 350 held
            kit.sign(Surrender(company="acme", year=YEAR, quantity_t=600), "n1").encode(),
            kit.sign(Statement(company="acme", year=YEAR, emissions_t=612.5, basis=Basis.CO2,
                               gwp_set=None, manifest_hash=HASH), "n5").encode()])
    return kit


def test_records_execute_in_blocks_and_balances_follow(tmp_path: Path) -> None:
    build(tmp_path / "l.db")
    kit = RecordKit.make()
    with Ledger.open_readonly(tmp_path / "l.db", kit.genesis) as ledger:
        acme = ledger.allowance_balance("acme", YEAR)
        globex = ledger.allowance_balance("globex", YEAR)
        assert (acme.allocated_t, acme.sold_t, acme.surrendered_t, acme.held_t) == (1000, 300, 600, 100)
        assert (globex.allocated_t, globex.bought_t, globex.surrendered_t, globex.held_t) == (50, 300, 0, 350)
        history = ledger.allowance_history("globex", YEAR)
        assert [(e.height, e.idx, e.record.kind, e.accepted) for e in history] == [
            (1, 2, Kind.ALLOCATION, True), (2, 0, Kind.TRANSFER, True), (2, 1, Kind.SURRENDER, False)]
        refused = history[-1]
        assert refused.reason is RecordReason.INSUFFICIENT_BALANCE
        assert refused.field == "record.body.quantity_t"
        assert refused.field == "record.body.quantity_t"
        status = ledger.record_status(refused.record.record_id)
        assert status is not None
        assert (status.status, status.height) == (RecordState.REFUSED, 2)
        transfers = ledger.allowance_records(YEAR, Kind.TRANSFER)
        assert [(e.record.body.price_per_t, e.record.body.currency) for e in transfers] == [  # type: ignore[union-attr]
            (81.25, "CNY")]
        assert ledger.reading_count() == 2
        assert ledger.rejection_count() == 0


def test_state_is_rebuilt_from_the_ledger_on_reopen(tmp_path: Path) -> None:
    kit = build(tmp_path / "l.db")
    with Ledger.open(tmp_path / "l.db", kit.genesis) as ledger:
        state = ledger._allowances
        assert state == ledger.allowances
        assert state.held == {("acme", YEAR): 100, ("globex", YEAR): 350}
        assert state.statements == {("acme", YEAR)}
        assert state.last_seq == {"n3": 1, "n4": 1, "n7": 1, "n1": 1, "n5": 1}   # n2's seq was refused
        # a record signed again with a used seq is a duplicate after the reopen too
        commit(ledger, kit, [kit.sign(Allocation(company="acme", year=YEAR, quantity_t=1), "n3",
                                      seq=1).encode()])
        last = ledger.allowance_history("acme", YEAR)[-1]
        assert (last.accepted, last.reason) == (False, RecordReason.DUPLICATE)


def test_a_clean_ledger_with_records_verifies(tmp_path: Path) -> None:
    kit = build(tmp_path / "l.db")
    report = verify_ledger(tmp_path / "l.db", kit.genesis)
    assert report.ok, report.problems


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE allowance_records SET quantity_t = 9000 WHERE height = 1 AND idx = 0",
     "height 1: allowance record 0 in the allowance_records table differs: quantity_t 9000 "
     "(contract: 1000)"),
    ("UPDATE allowance_records SET accepted = 1, reason = NULL, field = NULL, detail = '' "
     "WHERE height = 2 AND idx = 1",
     "height 2: allowance record 1 in the allowance_records table differs: accepted 1 (contract: 0)"),
    ("DELETE FROM allowance_records WHERE height = 2 AND idx = 3",
     "height 2: allowance record 3 is a certified record request missing from the allowance_records table"),
    ("UPDATE batches SET request = CAST(substr(request, 1, length(request) - 1) || x'00' AS BLOB) "
     "WHERE height = 2 AND idx = 0",
     "height 2: the stored batch bytes do not hash to the header's batches_root"),
])
def test_verify_names_a_hand_edited_record_row(tmp_path: Path, sql: str, expected: str) -> None:
    kit = build(tmp_path / "l.db")
    db = sqlite3.connect(tmp_path / "l.db")
    with db:
        db.execute(sql)
    db.close()
    report = verify_ledger(tmp_path / "l.db", kit.genesis)
    assert not report.ok
    assert any(p.startswith(expected) for p in report.problems), report.problems


@pytest.mark.parametrize(("sql", "expected"), [
    ("UPDATE allowance_records SET quantity_t = 9000 WHERE height = 1 AND idx = 0",
     "block 1: allowance record 0 in the allowance_records table differs: quantity_t 9000"),
    ("DELETE FROM allowance_records WHERE height = 2 AND idx = 3",
     "block 2: allowance record 3 is a certified record request missing from the allowance_records table"),
    ("INSERT INTO allowance_records SELECT 2, 7, record_id, signer, seq + 1, kind, year, company, buyer, "
     "quantity_t, accepted, reason, field, detail FROM allowance_records WHERE height = 1 AND idx = 0",
     "block 2: allowance record 7 is in the allowance_records table but the request is no record"),
])
@pytest.mark.parametrize("readonly", [False, True])
def test_a_ledger_with_a_hand_edited_record_row_is_refused_at_open(tmp_path: Path, sql: str, expected: str,
                                                                   readonly: bool) -> None:
    """The balances a member decides new records on are re-derived by the contract at open, so a
    row edited outside the node cannot give it balances the other members do not have."""
    kit = build(tmp_path / "l.db")
    db = sqlite3.connect(tmp_path / "l.db")
    with db:
        db.execute(sql)
    db.close()
    with pytest.raises(LedgerError) as caught:
        (Ledger.open_readonly if readonly else Ledger.open)(tmp_path / "l.db", kit.genesis)
    assert str(caught.value).startswith(expected), caught.value
    assert "carbonlab ledger verify --genesis" in str(caught.value)


def test_a_schema_1_ledger_opens_read_only_and_is_upgraded_by_a_writer(tmp_path: Path) -> None:
    kit = RecordKit.make()
    path = tmp_path / "old.db"
    with Ledger.open(path, kit.genesis) as ledger:
        commit(ledger, kit, [kit.kit.next_batch("gw1").encode()])
    db = sqlite3.connect(path)
    with db:   # what a file written before schema 2 looks like
        db.execute("DROP TABLE allowance_records")
        db.execute("DELETE FROM meta WHERE key = 'schema'")
    db.close()
    with Ledger.open_readonly(path, kit.genesis) as ledger:
        assert ledger.allowance_balance("acme", YEAR).held_t == 0
        assert ledger.allowance_records() == []
    assert verify_ledger(path, kit.genesis).ok
    with Ledger.open(path, kit.genesis) as ledger:
        commit(ledger, kit, [kit.sign(Allocation(company="acme", year=YEAR, quantity_t=7), "n3").encode()])
        assert ledger.allowance_balance("acme", YEAR).held_t == 7
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (b"2",)
    db.close()
    assert verify_ledger(path, kit.genesis).ok


# ---- the property: no sequence of records makes a balance negative ------------------------

COMPANIES = ("acme", "globex")
SIGNERS = ("n1", "n2", "n3", "n4", "n5", "n6", "n7")
step = st.tuples(
    st.sampled_from(["allocation", "transfer", "surrender"]),
    st.sampled_from(SIGNERS),
    st.sampled_from(COMPANIES), st.sampled_from(COMPANIES),
    st.sampled_from([YEAR, YEAR - 1]),
    st.integers(min_value=1, max_value=400),
    st.booleans())     # reuse the signer's last seq (a duplicate)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(step, min_size=1, max_size=6), min_size=1, max_size=5))
def test_balances_never_go_negative(tmp_path_factory: pytest.TempPathFactory,
                                    blocks: list[list[tuple[str, str, str, str, int, int, bool]]]) -> None:
    kit = RecordKit.make()
    path = tmp_path_factory.mktemp("prop") / "l.db"
    with Ledger.open(path, kit.genesis) as ledger:
        for steps in blocks:
            requests = []
            for kind, signer, a, _b, year, q, reuse in steps:
                body = (Allocation(company=a, year=year, quantity_t=q) if kind == "allocation" else
                        Surrender(company=a, year=year, quantity_t=q) if kind == "surrender" else
                        Transfer(seller=a, buyer="globex" if a == "acme" else "acme", year=year,
                                 quantity_t=q, price_per_t=10.0, currency="EUR"))
                seq = kit.seqs.get(signer, 1) if reuse else None
                requests.append(kit.sign(body, signer, seq).encode())
            commit(ledger, kit, requests)
            state = ledger._allowances
            assert all(v >= 0 for v in state.held.values()), state.held
            for company in COMPANIES:
                for year in (YEAR, YEAR - 1):
                    bal = ledger.allowance_balance(company, year)
                    assert bal.held_t == state.balance(company, year) >= 0
        assert ledger.allowances == ledger._allowances    # derivable from the table
    assert verify_ledger(path, kit.genesis).ok


def test_a_full_block_shows_its_records(tmp_path: Path) -> None:
    from carbonlab.node.ledger.render import block_json

    kit = build(tmp_path / "l.db")
    with Ledger.open_readonly(tmp_path / "l.db", kit.genesis) as ledger:
        block = ledger.block(1)
        assert block is not None
        items = block_json(block, with_batches=True)["batches"]
    assert [i["record"]["kind"] if "record" in i else i["batch"]["gateway_id"] for i in items] == [
        "allocation", "gw1", "allocation"]
    assert items[0]["gateway_id"] is None
    assert items[0]["accepted"] is True
