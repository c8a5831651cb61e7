"""`carbonlab report build|statement|verify`: the one-click report and its offline verification.

`build` writes a company-year's report (PDF, XLSX, canonical JSON) and its verification bundle
into a new directory, from a ledger file (`--ledger`) or a member's API (`--node`, with the
caller's `--genesis`). `statement` writes the verifier's statement record, committed after the
report was built (over its manifest's hash), into the report directory with its proof.
`verify` checks such a directory with genesis alone.

Exit codes: 0 done (verify: every check passed), 1 verify found problems (each printed) or
statement found none on the chain, 2 a usage error naming the option or file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from carbonlab.cli.argtypes import node_url
from carbonlab.errors import CarbonlabError
from carbonlab.node.gwp import GwpSet

GENESIS_HELP = "genesis.json: needed with --node; with --ledger, if given, must be the ledger's own"


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="one-click emission report (PDF, XLSX, JSON) with an "
                                           "offline-verifiable bundle")
    cmds = parser.add_subparsers(dest="report_command", metavar="ACTION")
    b = cmds.add_parser("build", help="write a company-year's report and its verification bundle")
    b.add_argument("--company", required=True)
    b.add_argument("--year", required=True, type=int)
    b.add_argument("--template", required=True, choices=("cn-power", "eu-mrr", "ghg-scope1"))
    b.add_argument("--out", required=True, type=Path, help="a new directory for the report")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--ledger", type=Path, help="a ledger file (opened read-only)")
    src.add_argument("--node", type=node_url, metavar="URL",
                          help="a member's API URL (needs --genesis)")
    b.add_argument("--genesis", type=Path, help=GENESIS_HELP)
    b.add_argument("--records", type=Path, help="allowance records (JSON, docs/compliance.md)")
    b.add_argument("--gwp", default=GwpSet.AR5.value, choices=[g.value for g in GwpSet])
    b.set_defaults(func=_build)
    st = cmds.add_parser("statement", help="write the verifier's statement, as the chain committed it "
                                           "with its proof, into a report directory built before it")
    st.add_argument("dir", type=Path)
    st_src = st.add_mutually_exclusive_group(required=True)
    st_src.add_argument("--ledger", type=Path, help="a ledger file (opened read-only)")
    st_src.add_argument("--node", type=node_url, metavar="URL",
                          help="a member's API URL (needs --genesis)")
    st.add_argument("--genesis", type=Path, help=GENESIS_HELP)
    st.set_defaults(func=_statement)
    v = cmds.add_parser("verify", help="check a report directory with genesis alone (no network)")
    v.add_argument("dir", type=Path)
    v.add_argument("--genesis", required=True, type=Path)
    v.add_argument("--workers", type=int, default=1,
                   help="processes checking the proofs (1-4; default 1, see docs/report.md)")
    v.set_defaults(func=_verify)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _genesis(path: Path | None, option: str) -> Any:
    from carbonlab.node.errors import NodeError
    from carbonlab.node.genesis import Genesis

    if path is None:
        raise CarbonlabError(f"{option}: required")
    try:
        return Genesis.load(path)
    except NodeError as exc:   # its message starts with the file's path
        raise CarbonlabError(f"{option}: {exc}") from None


def _build(args: argparse.Namespace) -> int:
    from carbonlab.apps.compliance.errors import InputError
    from carbonlab.apps.compliance.jsonrecords import JsonRecords
    from carbonlab.apps.report.build import build
    from carbonlab.apps.report.model import Template
    from carbonlab.node.gwp import GwpSet

    try:
        records = None if args.records is None else JsonRecords.load(args.records)
    except InputError as exc:
        raise CarbonlabError(f"--records: {exc}") from None
    source = _source(args)
    try:
        done = build(source, company=args.company, year=args.year, template=Template(args.template),
                     gwp=GwpSet(args.gwp), out=args.out, records=records)
    finally:
        source.close()
    for path in done.stale_removed:
        print(f"removed {path}: the temporary directory of an earlier build that was killed")
    print(f"report {args.template} for {args.company} {args.year}: {done.readings} readings "
          f"(blocks up to height {done.height}), {len(done.report.figures())} figures, "
          f"bundle {done.bundle_bytes:,} bytes in {done.out}")
    return 0


def _source(args: argparse.Namespace) -> Any:
    from carbonlab.apps.report.sources import LedgerFile, NodeApi

    if args.ledger is not None:   # a --genesis given is read and must be the ledger's own
        given = None if args.genesis is None else _genesis(args.genesis, "--genesis")
        return LedgerFile(args.ledger, given, args.genesis)
    return NodeApi(args.node, _genesis(args.genesis, "--genesis"))


def _statement(args: argparse.Namespace) -> int:
    from carbonlab import jsonfile
    from carbonlab.apps.report.build import attach_statement
    from carbonlab.jsonfile import JsonFileError

    try:
        manifest = jsonfile.load(args.dir / "manifest.json")
        company, year = manifest["company"], manifest["year"]
        if not isinstance(company, str) or type(year) is not int:
            raise TypeError("company must be a string and year an integer")
    except (OSError, JsonFileError, KeyError, TypeError) as exc:
        raise CarbonlabError(f"DIR: {args.dir} is not a report directory (manifest.json: {exc})") from None
    source = _source(args)
    try:
        found = attach_statement(args.dir, source, company, year)
    finally:
        source.close()
    if not found:
        print(f"no verifier's statement for {company} {year} on the chain yet")
        return 1
    print(f"statement for {company} {year} written to {args.dir / 'statement.json'}; check it with "
          "`carbonlab report verify`")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from carbonlab.apps.report.verify import verify

    if not 1 <= args.workers <= 4:
        raise CarbonlabError(f"--workers: {args.workers} is not in 1..4")
    res = verify(args.dir, _genesis(args.genesis, "--genesis"), workers=args.workers)
    for p in res.problems:
        print(p)
    for note in res.notes:
        print(f"note: {note}")
    print(res.summary())
    return 0 if res.ok else 1
