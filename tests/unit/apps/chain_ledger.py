"""A real ledger file holding allowance records signed by genesis members' keys and executed
by the allowance contract in certified blocks, with the trading centre's transfers over six
weeks of 2026 (some business days without a trade), and a member-API stand-in serving it.

Members of the 7-member genesis: n1, n2 power companies (acme, globex), n3 emission
management, n7 the trading centre. `TRADES` says what was settled each day, so the tests can
compute the expected prices and balances by hand.
"""

from __future__ import annotations

import http.server
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from carbonlab.node.allowances.records import Allocation, Kind, Transfer, sign_record
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import Ledger
from carbonlab.node.ledger.render import block_json
from carbonlab.node.query import EmissionsFilter, Level, Period
from tests.recording_http import serve
from tests.unit.node.factories import CHAIN_ID, Kit, make_genesis_json, make_reading, signer_for

FIRST_DAY = date(2026, 1, 5)                                  # a Monday
GAP_DAYS = (date(2026, 1, 14), date(2026, 1, 15), date(2026, 2, 2))
LAST_DAY = date(2026, 2, 18)
ALLOCATED = 100_000
READINGS_START = int(datetime(2026, 2, 20, tzinfo=UTC).timestamp())
READINGS = 10


@dataclass(frozen=True)
class Trade:
    day: date
    seller: str
    buyer: str
    quantity_t: int
    price_per_t: float
    accepted: bool = True


def trades() -> list[Trade]:
    out = []
    day, i = FIRST_DAY, 0
    while day <= LAST_DAY:
        if day.weekday() < 5 and day not in GAP_DAYS:
            out.append(Trade(day, "globex", "acme", 100 + i, 60.0 + 0.5 * i))
            if i % 2 == 0:
                out.append(Trade(day, "acme", "globex", 50, 62.0 + 0.5 * i))
            if i == 3:
                out.append(Trade(day, "globex", "acme", 7, 0.0))                      # not a trade
                out.append(Trade(day, "globex", "acme", 10**9, 999.0, accepted=False))  # refused
            i += 1
        day += timedelta(days=1)
    return out


TRADES = trades()


def genesis() -> Genesis:
    raw = make_genesis_json(7)
    raw["companies"] = [
        {"id": "acme", "name": "Acme", "member": "n1",
         "plants": [{"id": "plant1", "name": "P1", "units": [{"id": "unit1", "name": "U1"}]},
                    {"id": "plant2", "name": "P2", "units": [{"id": "unit3", "name": "U3"}]}]},
        {"id": "globex", "name": "Globex", "member": "n2",
         "plants": [{"id": "plant1", "name": "G1", "units": [{"id": "unit2", "name": "U2"}]}]},
    ]
    return Genesis.from_json(raw)


def _noon_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()) * 1000


def build(path: Path) -> Genesis:
    g = genesis()
    kit = Kit(g, {m: signer_for(m) for m in g.member_ids}, {gw.id: signer_for(gw.id) for gw in g.gateways})
    seqs: dict[str, int] = {}

    def signed(body: Any, member: str) -> bytes:
        seqs[member] = seqs.get(member, 0) + 1
        return sign_record(body, member, signer_for(member), chain_id=CHAIN_ID, seq=seqs[member]).encode()

    blocks: list[tuple[int, list[bytes]]] = [(_noon_ms(date(2026, 1, 2)), [
        signed(Allocation(company=c, year=2026, quantity_t=ALLOCATED), "n3") for c in ("acme", "globex")])]
    blocks.extend((_noon_ms(day), [
        signed(Transfer(seller=t.seller, buyer=t.buyer, year=2026, quantity_t=t.quantity_t,
                        price_per_t=t.price_per_t, currency="CNY"), "n7")
        for t in TRADES if t.day == day]) for day in sorted({t.day for t in TRADES}))
    readings = [make_reading("m1", i + 1, READINGS_START + 60 * i) for i in range(READINGS)]
    blocks.append(((READINGS_START + 3600) * 1000, [kit.batch("gw1", 1, readings).encode()]))
    with Ledger.open(path, g) as led:
        for seq, (ts, requests) in enumerate(blocks, start=1):
            proposal = kit.proposal(seq, requests, timestamp_ms=ts)
            led.commit(proposal, kit.certify(proposal))
    return g


def emitted_kg() -> float:
    return sum(make_reading("m1", i + 1, READINGS_START + 60 * i).co2_kg for i in range(READINGS))


@contextmanager
def member_api(path: Path) -> Iterator[str]:
    """A real HTTP server answering the four routes the chain adapter reads with the node's own
    answer types over the ledger file (`RecordEntry`, `Balance`, `block_json`, `QueryResult`):
    the serialisation the node's routes use, without a PBFT cluster."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            with Ledger.open_readonly(path) as ledger:
                if url.path == "/v1/allowances/records":
                    year = int(q["year"]) if "year" in q else None
                    body: Any = {"records": [e.to_json() for e in
                                             ledger.allowance_records(year, Kind(q["kind"]))]}
                elif url.path == "/v1/allowances/balance":
                    body = ledger.allowance_balance(q["company"], int(q["year"])).to_json()
                elif url.path.startswith("/v1/blocks/"):
                    block = ledger.block(int(url.path.rsplit("/", 1)[1]))
                    assert block is not None
                    body = block_json(block)
                elif url.path == "/v1/emissions/query":
                    flt = EmissionsFilter.from_params(q)
                    body = ledger.emissions_query(flt, period=Period(q["period"]),
                                                  level=Level(q["level"]), proofs=False,
                                                  max_rows=None).to_json()
                else:
                    self.send_error(404)
                    return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield url
