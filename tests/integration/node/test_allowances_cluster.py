"""Allowance records through a real 4-member cluster over libp2p (issue 14, item 1): signed by
the CLI with the members' key files, ordered by PBFT, executed by every member to the same
balances, refused records visible at their status URL, hostile bodies answered 4xx naming the
field, and each member's ledger file verifying offline against genesis."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from carbonlab.apps.compliance.chainrecords import ChainRecords
from carbonlab.bench.localcluster import LocalCluster
from carbonlab.cli import main
from carbonlab.node.allowances.jsonform import record_json
from carbonlab.node.allowances.records import Allocation, Body, Surrender, sign_record
from carbonlab.node.config import load as load_config
from carbonlab.node.crypto import Signer
from carbonlab.node.ledger.verify import verify_ledger
from tests.sharedcluster import SharedCluster
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROLES = ("power-company", "emission-management", "verifier", "trading-centre")   # n1..n4
YEAR = time.gmtime().tm_year
CLOSED = YEAR - 2
HASH = "cd" * 32


@pytest.fixture(scope="module")
def own(shared_cluster: SharedCluster) -> tuple[str, str]:
    """This module's two companies on the session's shared cluster (tests/sharedcluster.py):
    nobody else signs records for them, so balances and histories are this module's alone."""
    first, second = shared_cluster.claim("allowance records", 2).companies
    return first, second


@pytest.fixture(scope="module")
def cluster(shared_cluster: SharedCluster, own: tuple[str, str]) -> LocalCluster:
    assert tuple(m.role for m in shared_cluster.cluster.genesis.members) == ROLES
    return shared_cluster.cluster


def cli(capsys: pytest.CaptureFixture[str], cluster: LocalCluster, action: str, member: str,
        *args: str) -> tuple[int, str]:
    code = main(["allowances", action, "--node", cluster.url("n2"), "--member", member,
                 "--key", str(cluster.root / "keys" / f"{member}.key"), "--timeout-s", "20", *args])
    return code, capsys.readouterr().out


def test_records_commit_and_every_member_holds_the_same_balance(
        cluster: LocalCluster, own: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    c1, c2 = own
    assert {c1, c2} <= {c.id for c in cluster.genesis.companies}
    year = ["--year", str(YEAR)]
    code, out = cli(capsys, cluster, "allocate", "n2", "--company", c1, *year, "--quantity-t", "900")
    assert code == 0, out
    assert out.startswith("committed at height ")
    code, out = cli(capsys, cluster, "transfer", "n4", "--seller", c1, "--buyer", c2,
                    *year, "--quantity-t", "250", "--price-per-t", "88.5", "--currency", "CNY")
    assert code == 0, out
    code, out = cli(capsys, cluster, "surrender", "n1", "--company", c1, *year, "--quantity-t", "600")
    assert code == 0, out
    code, out = cli(capsys, cluster, "statement", "n3", "--company", c1, *year,
                    "--emissions-t", "640.25", "--manifest-hash", HASH)
    assert code == 0, out

    # refused by consensus, with its reason at the status URL
    code, out = cli(capsys, cluster, "surrender", "n1", "--company", c1, *year, "--quantity-t", "51")
    assert code == 1
    assert "refused at height" in out
    assert "insufficient_balance (record.body.quantity_t): record.body.quantity_t: 51 t is above " \
           f"{c1}'s" in out
    record_id = out.rsplit("record ", 1)[1].strip()
    status = httpx.get(f"{cluster.url('n3')}/v1/records/{record_id}", timeout=10).json()
    assert (status["status"], status["reason"]) == ("refused", "insufficient_balance")
    code, out = cli(capsys, cluster, "allocate", "n1", "--company", c1, *year, "--quantity-t", "5")
    assert code == 1
    assert "wrong_role (record.signer)" in out
    code, out = cli(capsys, cluster, "allocate", "n2", "--company", c1, "--year", str(CLOSED),
                    "--quantity-t", "5")
    assert "closed_year (record.body.year)" in out

    expected = {"company": c1, "year": YEAR, "allocated_t": 900, "bought_t": 0, "sold_t": 250,
                "surrendered_t": 600, "held_t": 50}
    height = max(cluster.status(m)["height"] for m in cluster.members)  # type: ignore[index]
    cluster.wait_height(height, list(cluster.members), timeout_s=60)
    for member in cluster.members:
        got = httpx.get(f"{cluster.url(member)}/v1/allowances/balance",
                        params={"company": c1, "year": YEAR}, timeout=10).json()
        assert got == expected, member
    transfers = httpx.get(f"{cluster.url('n4')}/v1/allowances/records",
                          params={"year": YEAR, "kind": "transfer"}, timeout=10).json()["records"]
    mine = [t for t in transfers if {t["record"]["body"]["seller"], t["record"]["body"]["buyer"]} & {c1, c2}]
    assert [(t["record"]["body"]["price_per_t"], t["status"]) for t in mine] == [(88.5, "committed")]

    # the CLI reads the same balance from a member and offline from a member's ledger file
    assert main(["allowances", "balance", "--company", c1, "--year", str(YEAR),
                 "--node", cluster.url("n4")]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    ledger = load_config(cluster.root / "n3.toml").ledger_path
    assert main(["allowances", "balance", "--company", c1, "--year", str(YEAR),
                 "--ledger", str(ledger), "--genesis", str(cluster.root / "genesis.json")]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    report = verify_ledger(ledger, cluster.genesis)
    assert report.ok, report.problems

    # the compliance adapter reads the same records through a member's API and from its file
    for records in (ChainRecords.from_node(cluster.url("n1")),
                    ChainRecords.from_ledger(ledger, cluster.root / "genesis.json")):
        assert [a.quantity_t for a in records.allocations(c1, YEAR)] == [900.0]
        assert [(t.buyer, t.price_per_t) for t in records.transfers(c1, YEAR)] == [(c2, 88.5)]
        assert [s.quantity_t for s in records.surrenders(c1, YEAR)] == [600.0]   # not the refused 51
        statement = records.statement(c1, YEAR)
        assert statement is not None
        assert (statement.emissions_t, statement.verifier) == (640.25, "n3")


def good_record(cluster: LocalCluster, seq: int = 1, company: str = "company2") -> dict[str, Any]:
    """An allocation of 3 t; only the ones a test commits need the module's own company."""
    key = Signer.load(cluster.root / "keys" / "n2.key")
    return record_json(sign_record(Allocation(company=company, year=YEAR, quantity_t=3), "n2", key,
                                   chain_id=cluster.genesis.chain_id, seq=seq))


def mutate(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    target = out
    for p in parents:
        target = target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return out


@pytest.mark.parametrize(("path", "value", "field"), [
    ("kind", "gift", "record.kind"),
    ("seq", -1, "record.seq"),
    ("seq", "7", "record.seq"),
    ("signature", "zz", "record.signature"),
    ("signature", KeyError, "record.signature"),
    ("body", [1, 2], "record.body"),
    ("body.quantity_t", 0, "record.body.quantity_t"),
    ("body.quantity_t", 2.5, "record.body.quantity_t"),
    ("body.quantity_t", 10**30, "record.body.quantity_t"),
    ("body.year", 1800, "record.body.year"),
    ("body.company", "", "record.body.company"),
    ("body.company", "x" * 65, "record.body.company"),
    ("body.extra", 1, "record.body.extra"),
    ("signer", None, "record.signer"),
])
def test_hostile_bodies_get_400_naming_the_field(cluster: LocalCluster, path: str, value: Any,
                                                 field: str) -> None:
    body = mutate(good_record(cluster), path, value)
    r = httpx.post(f"{cluster.url('n2')}/v1/records", json=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(("content", "status", "field"), [
    (b"{not json", 400, None), (b"[]", 400, "record"), (b"null", 400, "record"),
    (b'{"a": ' * 100 + b"1" + b"}" * 100, 400, None)])
def test_unreadable_bodies_get_4xx(cluster: LocalCluster, content: bytes, status: int,
                                   field: str | None) -> None:
    r = httpx.post(f"{cluster.url('n2')}/v1/records", content=content,
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == status, r.text
    assert "error" in r.json()
    if field is not None:
        assert r.json()["field"] == field


def test_a_bad_signature_is_refused_before_ordering(cluster: LocalCluster) -> None:
    body = good_record(cluster, seq=99)
    body["body"]["quantity_t"] = 4          # no longer what n2 signed
    r = httpx.post(f"{cluster.url('n2')}/v1/records", json=body, timeout=10)
    assert r.status_code == 422
    assert (r.json()["status"], r.json()["reason"], r.json()["field"]) == ("refused", "bad_signature",
                                                                           "record.signature")
    assert httpx.get(f"{cluster.url('n2')}/v1/records/{r.json()['id']}", timeout=10).status_code == 404


@pytest.mark.parametrize(("route", "params", "status", "field"), [
    ("/v1/allowances/balance", {"company": "company1"}, 400, "year"),
    ("/v1/allowances/balance", {"company": "nobody", "year": "2025"}, 404, "company"),
    ("/v1/allowances/balance", {"company": "company1", "year": "soon"}, 400, "year"),
    ("/v1/allowances/history", {"company": "company1", "kind": "gift"}, 400, "kind"),
    ("/v1/allowances/records", {"yeer": "2025"}, 400, "yeer"),
    # int() reads all three as 2026 (probe14): a query number is plain ASCII digits
    ("/v1/allowances/balance", {"company": "company1", "year": "2_026"}, 400, "year"),
    ("/v1/allowances/balance", {"company": "company1", "year": "+2026"}, 400, "year"),
    ("/v1/allowances/records", {"year": "\u0662\u0660\u0662\u0666"}, 400, "year"),
    ("/v1/allowances/records", {"year": " 2026 "}, 400, "year"),
    ("/v1/records/xyz", {}, 400, "id"),
    ("/v1/records/" + "0" * 64, {}, 404, None),
])
def test_bad_queries_are_named(cluster: LocalCluster, route: str, params: dict[str, str], status: int,
                               field: str | None) -> None:
    r = httpx.get(f"{cluster.url('n2')}{route}", params=params, timeout=10)
    assert r.status_code == status, r.text
    if field is not None:
        assert r.json()["field"] == field


def test_a_record_posted_twice_is_one_record(cluster: LocalCluster, own: tuple[str, str]) -> None:
    body = good_record(cluster, seq=int(time.time() * 1e6), company=own[1])
    first = httpx.post(f"{cluster.url('n2')}/v1/records", params={"wait_ms": 20000}, json=body, timeout=30)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "committed"
    again = httpx.post(f"{cluster.url('n3')}/v1/records", json=body, timeout=30)
    assert again.status_code == 200
    assert again.json() == first.json()
    entries = wait_until(lambda: [e for e in httpx.get(
        f"{cluster.url('n4')}/v1/allowances/history", params={"company": own[1]},
        timeout=10).json()["records"] if e["id"] == first.json()["id"]] or None, 30, "the record on n4")
    assert len(entries) == 1


@pytest.mark.parametrize(("path", "digits"), [("body.quantity_t", 5000), ("seq", 5000)])
def test_a_number_too_long_to_read_is_a_400_naming_the_body(cluster: LocalCluster, path: str,
                                                            digits: int) -> None:
    """Python's json refuses an integer of more than 4300 digits with a ValueError that is not a
    JSONDecodeError: it was a 500 (probe14)."""
    text = json.dumps(mutate(good_record(cluster, seq=7), path, 123456789))
    content = text.replace("123456789", "9" * digits).encode()
    r = httpx.post(f"{cluster.url('n2')}/v1/records", content=content,
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "body"
    assert "digits" in r.json()["error"]


@pytest.mark.parametrize(("path", "field"), [("body.company", "record.body.company"),
                                             ("signer", "record.signer"),
                                             ("chain_id", "record.chain_id")])
def test_a_lone_surrogate_in_a_string_is_a_400_naming_the_field(cluster: LocalCluster, path: str,
                                                                field: str) -> None:
    """JSON may escape a lone surrogate (\\ud800), which no UTF-8 encoder takes: signing bytes of
    such a record crashed the route with a 500 (probe14)."""
    content = json.dumps(mutate(good_record(cluster, seq=8), path, "PLACEHOLDER")).replace(
        "PLACEHOLDER", "co\\ud800").encode()
    r = httpx.post(f"{cluster.url('n2')}/v1/records", content=content,
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert "surrogate" in r.json()["error"]


def test_a_key_given_twice_is_a_400_naming_it(cluster: LocalCluster) -> None:
    """json.loads keeps the last of two equal keys: {"quantity_t": 3, "quantity_t": 5} was read
    as 5 and answered 422 bad_signature, hiding what was wrong (probe14)."""
    content = json.dumps(good_record(cluster, seq=9)).replace(
        '"quantity_t": 3', '"quantity_t": 3, "quantity_t": 5').encode()
    r = httpx.post(f"{cluster.url('n2')}/v1/records", content=content,
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "record.body.quantity_t"
    assert "more than once" in r.json()["error"]


@pytest.mark.parametrize(("signer", "body", "reason", "field"), [
    ("n2", Allocation(company="nobody", year=YEAR, quantity_t=1), "unknown_company", "record.body.company"),
    ("n4", Allocation(company="company1", year=YEAR, quantity_t=1), "wrong_role", "record.signer"),
    ("n3", Surrender(company="company1", year=YEAR, quantity_t=1), "wrong_role", "record.signer"),
])
def test_a_record_genesis_alone_refuses_is_a_422_and_not_ordered(
        cluster: LocalCluster, signer: str, body: Body, reason: str, field: str) -> None:
    """A company genesis does not name or a signer whose role may not make the kind can never be
    accepted, whatever the ledger holds: it was ordered (200, refused at a height, a ledger row
    for every such mistake) where the docs promise a 422 for such records (probe14)."""
    key = Signer.load(cluster.root / "keys" / f"{signer}.key")
    record = record_json(sign_record(body, signer, key, chain_id=cluster.genesis.chain_id,
                                     seq=int(time.time() * 1e6)))
    r = httpx.post(f"{cluster.url('n2')}/v1/records", params={"wait_ms": 5000}, json=record, timeout=30)
    assert r.status_code == 422, r.text
    assert (r.json()["status"], r.json()["reason"], r.json()["field"]) == ("refused", reason, field)
    assert httpx.get(f"{cluster.url('n2')}/v1/records/{r.json()['id']}", timeout=10).status_code == 404


def test_the_default_seq_follows_the_members_last_executed_one(
        cluster: LocalCluster, own: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """A record signed with a seq ahead of the clock made every later default (the time in µs) a
    duplicate until the clock passed it: the default is max(now, last + 1), the last read from
    the member's `/v1/allowances/signers/{member}`."""
    c1, _ = own
    ahead = time.time_ns() // 1000 + 3_000_000          # 3 s ahead: under a day, no --far-seq
    code, out = cli(capsys, cluster, "allocate", "n2", "--company", c1, "--year", str(YEAR),
                    "--quantity-t", "1", "--seq", str(ahead))
    assert code == 0, out
    height = max(cluster.status(m)["height"] for m in cluster.members)  # type: ignore[index]
    cluster.wait_height(height, ["n2"], timeout_s=60)
    got = httpx.get(f"{cluster.url('n2')}/v1/allowances/signers/n2", timeout=10).json()
    assert got == {"signer": "n2", "last_seq": ahead}
    code, out = cli(capsys, cluster, "allocate", "n2", "--company", c1, "--year", str(YEAR),
                    "--quantity-t", "1")
    assert code == 0, out               # signed with ahead + 1, not refused as a duplicate
    assert httpx.get(f"{cluster.url('n2')}/v1/allowances/signers/n2",
                     timeout=10).json()["last_seq"] == ahead + 1
    unknown = httpx.get(f"{cluster.url('n2')}/v1/allowances/signers/nobody", timeout=10)
    assert (unknown.status_code, unknown.json()["field"]) == (404, "member")
    while time.time_ns() // 1000 <= ahead + 1:      # leave the clock ahead of n2's seq for others
        time.sleep(0.1)
