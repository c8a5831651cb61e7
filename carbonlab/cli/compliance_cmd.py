"""`carbonlab compliance rules [NAME]` (list or show a rule set) and `carbonlab compliance position`
(a company's position for a year under a rule set, from an allowance-records JSON file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("compliance", help="reward and punishment: rule sets and a company's position")
    csub = parser.add_subparsers(dest="compliance_command", metavar="ACTION")
    rules = csub.add_parser("rules", help="list the shipped rule sets, or show one with its clauses")
    rules.add_argument("name", nargs="?", help="a shipped rule set (cn-ets, eu-ets) or a .yaml file")
    rules.set_defaults(func=_rules)
    pos = csub.add_parser("position", help="a company's compliance position for a year under a rule set")
    pos.add_argument("--company", required=True)
    pos.add_argument("--year", required=True, type=int)
    pos.add_argument("--rules", required=True, help="a shipped rule set (cn-ets, eu-ets) or a .yaml file")
    pos.add_argument("--inputs", required=True, type=Path,
                     help="allowance records, verified emissions, data quality and prices (JSON; "
                          "docs/compliance.md)")
    pos.add_argument("--format", choices=("table", "json"), default="table")
    pos.add_argument("--multiplier", type=float,
                     help="cn-ets: the multiple of the market price for allowances not surrendered")
    pos.add_argument("--penalty-per-t", type=float,
                     help="eu-ets: the year's indexed excess emissions penalty per tonne")
    pos.add_argument("--gain-multiplier", type=float, help="cn-ets: the multiple of an illegal gain")
    pos.add_argument("--falsification-fine", type=float,
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
    from carbonlab.apps.compliance.records import assemble
    from carbonlab.apps.compliance.render import position_json, position_table
    from carbonlab.apps.compliance.ruleset import load_named

    rules = load_named(args.rules)
    records = JsonRecords.load(args.inputs)
    inputs = assemble(records, records, args.company, args.year, rules.currency, source=str(args.inputs))
    choices = Choices(multiplier=args.multiplier, penalty_per_t=args.penalty_per_t,
                      gain_multiplier=args.gain_multiplier, falsification_fine=args.falsification_fine)
    result = position(inputs, rules, choices)
    print(position_json(result) if args.format == "json" else position_table(result))
    return 0
