"""`carbonlab compliance rules [NAME]` (list or show a rule set) and `carbonlab compliance position`
(a company's position for a year under a rule set, from an allowance-records JSON file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import integer, node_url, number


def register(sub: Any) -> None:
    parser = sub.add_parser("compliance", help="reward and punishment: rule sets and a company's position")
    csub = parser.add_subparsers(dest="compliance_command", metavar="ACTION")
    rules = csub.add_parser("rules", help="list the shipped rule sets, or show one with its clauses")
    rules.add_argument("name", nargs="?", help="a shipped rule set (cn-ets, eu-ets) or a .yaml file")
    rules.set_defaults(func=_rules)
    pos = csub.add_parser("position", help="a company's compliance position for a year under a rule set")
    pos.add_argument("--company", required=True)
    pos.add_argument("--year", required=True, type=integer())
    pos.add_argument("--rules", required=True, help="a shipped rule set (cn-ets, eu-ets) or a .yaml file")
    pos.add_argument("--inputs", required=True, type=Path,
                     help="allowance records, verified emissions, data quality and prices (JSON; "
                          "docs/compliance.md); with --ledger or --node only data quality and prices")
    chain = pos.add_mutually_exclusive_group()
    chain.add_argument("--ledger", type=Path, help="read the allowance records and the verifier's "
                                                   "statement from this ledger file (with --genesis)")
    chain.add_argument("--node", type=node_url, metavar="URL", help="read them from a member's API")
    pos.add_argument("--genesis", type=Path, help="the trusted genesis.json (with --ledger)")
    pos.add_argument("--format", choices=("table", "json"), default="table")
    pos.add_argument("--multiplier", type=number(),
                     help="cn-ets: the multiple of the market price for allowances not surrendered")
    pos.add_argument("--penalty-per-t", type=number(),
                     help="eu-ets: the year's indexed excess emissions penalty per tonne")
    pos.add_argument("--gain-multiplier", type=number(), help="cn-ets: the multiple of an illegal gain")
    pos.add_argument("--falsification-fine", type=number(),
                     help="cn-ets: the fine for falsified data when the gain is below the floor")
    pos.set_defaults(func=_position)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _rules(args: argparse.Namespace) -> int:
    from carbonlab.apps.compliance.render import ruleset_text
    from carbonlab.apps.compliance.ruleset import load_named, shipped

    if args.name is None:
        for name in shipped():
            r = load_named(name)
            print(f"{name:<10} {r.header.title} "
                  f"({r.currency}, {len(r.clauses)} clauses, {len(r.terms)} terms)")
        return 0
    print(ruleset_text(load_named(args.name)))
    return 0


def _position(args: argparse.Namespace) -> int:
    from carbonlab.apps.compliance.jsonrecords import JsonRecords
    from carbonlab.apps.compliance.outcomes import Choices
    from carbonlab.apps.compliance.position import position
    from carbonlab.apps.compliance.records import AllowanceRecords, assemble
    from carbonlab.apps.compliance.render import position_json, position_table
    from carbonlab.apps.compliance.ruleset import load_named
    from carbonlab.apps.finite import check_finite

    rules = load_named(args.rules)
    market = JsonRecords.load(args.inputs)
    records: AllowanceRecords = market
    if args.ledger is not None or args.node is not None:
        records = _chain_records(args, market)
    inputs = assemble(records, market, args.company, args.year, rules.currency,
                      source=getattr(records, "source", None) or str(args.inputs))
    choices = Choices(multiplier=args.multiplier, penalty_per_t=args.penalty_per_t,
                      gain_multiplier=args.gain_multiplier, falsification_fine=args.falsification_fine)
    result = position(inputs, rules, choices)
    check_finite(result, "position")
    print(position_json(result) if args.format == "json" else position_table(result))
    return 0


def _chain_records(args: argparse.Namespace, market: Any) -> Any:
    """The chain's records; --inputs may then hold no records of its own (one source each)."""
    from carbonlab.apps.compliance.chainrecords import ChainRecords
    from carbonlab.apps.compliance.errors import InputError

    for name, held in (("allocations", market.allocation_list), ("transfers", market.transfer_list),
                       ("surrenders", market.surrender_list), ("carry_overs", market.carry_over_list),
                       ("statements", market.statement_list)):
        if held:
            raise InputError(str(args.inputs), name, "the chain gives the allowance records "
                             "(--ledger/--node): --inputs may hold only data_quality and market_prices")
    if args.ledger is not None:
        if args.genesis is None:
            raise InputError("--ledger", "--genesis", "required with --ledger (the trusted genesis.json)")
        return ChainRecords.from_ledger(args.ledger, args.genesis)
    return ChainRecords.from_node(args.node)
