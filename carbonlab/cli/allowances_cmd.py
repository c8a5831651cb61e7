"""`carbonlab allowances ...`: sign and submit allowance records, read balances and history.

Signing actions (`allocate`, `transfer`, `surrender`, `statement`) build the record's body
(each field checked by its declared rule: a bad value is named), sign it with the member's
key file (the one the lab writes for the node) and POST it to `--node`, then wait up to
`--timeout-s` for its block and print the outcome: `committed at height H` (exit 0) or
`refused: <reason> (<field>): <why>` (exit 1); still pending at the timeout is exit 1 with the
status URL to follow. `balance` and `history` read a member's API (`--node`) or a ledger file
offline (`--ledger FILE --genesis G`), and print JSON.

`--seq` defaults to max(the time in µs, the member's last executed seq + 1), the last read from
the member's `/v1/allowances/signers/{member}`: a record
once signed with a seq far ahead would otherwise make every later default a duplicate. An
explicit `--seq` more than a day ahead of the time in µs is refused unless `--far-seq` says it is
meant. Numbers take ASCII digits only (`cli/argtypes.py`); a transfer's `--currency` must be an
ISO 4217 code (`apps/iso4217.py`: the contract itself takes any three capital letters).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.cli.argtypes import integer, node_url, number

if TYPE_CHECKING:   # the node's modules load only when an action runs (`--help` stays fast)
    from carbonlab.node.allowances.answers import RecordStatus
    from carbonlab.node.allowances.client import AllowanceClient

KINDS = ("allocation", "transfer", "surrender", "statement")
FAR_SEQ_US = 86_400 * 10**6     # an explicit --seq further ahead of now than a day needs --far-seq


def register(sub: Any) -> None:
    parser = sub.add_parser("allowances", help="allowance records on the chain: allocate, transfer, "
                                               "surrender, statement, balance, history")
    cmds = parser.add_subparsers(dest="allowances_command", metavar="ACTION")
    allocate = _signing(cmds, "allocate", "allocate allowances to a company for a compliance year "
                                          "(an emission-management member)")
    allocate.add_argument("--company", required=True)
    _year_quantity(allocate)
    transfer = _signing(cmds, "transfer", "record a settled trade between two companies "
                                          "(the trading-centre member)")
    transfer.add_argument("--seller", required=True)
    transfer.add_argument("--buyer", required=True)
    _year_quantity(transfer)
    transfer.add_argument("--price-per-t", type=number(), required=True, help="price of one allowance")
    transfer.add_argument("--currency", required=True, help="ISO 4217, e.g. CNY, EUR")
    surrender = _signing(cmds, "surrender", "surrender a company's allowances for a compliance year "
                                            "(the company's own power-company member)")
    surrender.add_argument("--company", required=True)
    _year_quantity(surrender)
    statement = _signing(cmds, "statement", "sign off a company's year over a report's manifest hash "
                                            "(the verifier member)")
    statement.add_argument("--company", required=True)
    statement.add_argument("--year", type=integer(), required=True)
    statement.add_argument("--emissions-t", type=number(), required=True)
    statement.add_argument("--basis", default="co2", help="co2 (default) or co2e")
    statement.add_argument("--gwp-set", help="AR5 or AR6; exactly when --basis co2e")
    statement.add_argument("--manifest-hash", required=True, help="SHA-256 (hex) of the report "
                                                                   "bundle's manifest")
    balance = cmds.add_parser("balance", help="a company's allowances for one year, as JSON")
    balance.add_argument("--company", required=True)
    balance.add_argument("--year", type=integer(), required=True)
    _source(balance)
    balance.set_defaults(func=_balance)
    history = cmds.add_parser("history", help="a company's executed records (refused ones with their "
                                              "reason), as JSON")
    history.add_argument("--company", required=True)
    history.add_argument("--year", type=integer())
    history.add_argument("--kind", choices=KINDS)
    _source(history)
    history.set_defaults(func=_history)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _signing(cmds: Any, name: str, text: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = cmds.add_parser(name, help=text)
    p.add_argument("--node", type=node_url, required=True, metavar="URL", help="a member's API")
    p.add_argument("--member", required=True, help="the signing member's genesis id")
    p.add_argument("--key", type=Path, required=True, metavar="FILE", help="the member's key file")
    p.add_argument("--seq", type=integer(), help="the signer's sequence number (default: the time in µs, "
                   "or above the member's last executed seq)")
    p.add_argument("--far-seq", action="store_true", help="sign with a --seq more than a day ahead of the "
                   "time in µs (every later default seq of the member then follows it)")
    p.add_argument("--timeout-s", type=number(), default=30.0, help="wait this long for the outcome "
                                                                  "(0..30, default 30)")
    p.set_defaults(func=_sign_and_submit, kind={"allocate": "allocation"}.get(name, name))
    return p


def _year_quantity(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=integer(), required=True, help="the compliance year")
    p.add_argument("--quantity-t", type=integer(), required=True, help="whole allowances (tonnes)")


def _source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node", type=node_url, metavar="URL", help="read a member's API")
    p.add_argument("--ledger", type=Path, help="read a ledger file offline (with --genesis)")
    p.add_argument("--genesis", type=Path, help="the trusted genesis.json (with --ledger)")


def _check_far(seq: int, meant: bool) -> None:
    from carbonlab.node.errors import NodeError

    now_us = time.time_ns() // 1000
    if seq > now_us + FAR_SEQ_US and not meant:
        raise NodeError(f"--seq: {seq} is more than a day ahead of the time in µs ({now_us}); every later "
                        "record of this member would need a seq above it (the default follows it). "
                        "Add --far-seq if that is meant")


def default_seq(client: AllowanceClient, member: str) -> int:
    """max(the time in µs, the member's last executed seq + 1): a seq once signed far ahead does
    not make every later default a duplicate (`/v1/allowances/signers/{member}`)."""
    last = client.last_seq(member)
    return max(time.time_ns() // 1000, -1 if last is None else last + 1)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    if args.kind == "transfer":
        from carbonlab.apps.iso4217 import currency_problem
        from carbonlab.node.errors import SchemaError

        problem = currency_problem(args.currency)
        if problem is not None:     # the contract takes any three capital letters: refused here
            raise SchemaError("record.body.currency", problem)
    names = {"allocation": ("company", "year", "quantity_t"),
             "transfer": ("seller", "buyer", "year", "quantity_t", "price_per_t", "currency"),
             "surrender": ("company", "year", "quantity_t"),
             "statement": ("company", "year", "emissions_t", "basis", "gwp_set", "manifest_hash")}
    return {n: getattr(args, n) for n in names[args.kind]}


def _sign_and_submit(args: argparse.Namespace) -> int:
    from carbonlab.node.allowances.client import AllowanceClient
    from carbonlab.node.allowances.records import Kind, build_body, check_seq, sign_record
    from carbonlab.node.crypto import Signer
    from carbonlab.node.errors import NodeError

    if not 0 <= args.timeout_s <= 30:
        raise NodeError(f"--timeout-s: must be 0..30, got {args.timeout_s}")
    body = build_body(Kind(args.kind), _body(args), "record.body")
    if args.seq is not None:
        check_seq(args.seq)
        _check_far(args.seq, args.far_seq)
    key = Signer.load(args.key)
    client = AllowanceClient(args.node)
    chain_id = client.chain_id()
    seq = args.seq if args.seq is not None else default_seq(client, args.member)
    check_seq(seq)
    record = sign_record(body, args.member, key, chain_id=chain_id, seq=seq)
    status = client.submit(record, wait_s=args.timeout_s)
    return _report(status, args.node)


def _report(status: RecordStatus, node: str) -> int:
    from carbonlab.node.allowances.answers import RecordState

    if status.status is RecordState.COMMITTED:
        print(f"committed at height {status.height}: record {status.id}")
        return 0
    if status.status is RecordState.REFUSED:
        where = "before ordering" if status.height is None else f"at height {status.height}"
        print(f"refused {where}: {status.reason.value if status.reason else '?'} "
              f"({status.field}): {status.error}; record {status.id}")
        return 1
    print(f"{status.status.value}: no outcome yet for record {status.id}; follow "
          f"{node.rstrip('/')}/v1/records/{status.id}")
    return 1


def _read(args: argparse.Namespace, fn_node: Any, fn_ledger: Any) -> Any:
    from carbonlab.node.errors import NodeError

    if (args.node is None) == (args.ledger is None):
        raise NodeError("give --node URL or --ledger FILE --genesis G (one of them)")
    if args.node is not None:
        from carbonlab.node.allowances.client import AllowanceClient

        return fn_node(AllowanceClient(args.node))
    if args.genesis is None:
        raise NodeError("--ledger needs --genesis (the trusted genesis.json)")
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.ledger import Ledger

    with Ledger.open_readonly(args.ledger, Genesis.load(args.genesis)) as ledger:
        return fn_ledger(ledger)


def _balance(args: argparse.Namespace) -> int:
    found = _read(args, lambda c: c.balance(args.company, args.year),
                  lambda ledger: ledger.allowance_balance(args.company, args.year))
    print(json.dumps(found.to_json(), indent=2))
    return 0


def _history(args: argparse.Namespace) -> int:
    from carbonlab.node.allowances.records import Kind

    kind = None if args.kind is None else Kind(args.kind)
    found = _read(args, lambda c: c.history(args.company, args.year, kind),
                  lambda ledger: ledger.allowance_history(args.company, args.year, kind))
    print(json.dumps({"company": args.company, "year": args.year, "kind": args.kind,
                      "records": [e.to_json() for e in found]}, indent=2))
    return 0
