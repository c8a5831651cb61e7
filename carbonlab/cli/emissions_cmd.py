"""`carbonlab emissions query|structure|verify-proofs`: the query and structure modules.

`query` and `structure` answer from a ledger file (`--ledger FILE`, opened read-only) or from
a member's API (`--node URL`), with the same filters and the same results. `verify-proofs`
checks a saved `query --proofs --format json` answer with genesis alone.

Exit codes: 0 done (or every proof checks out), 1 a proof does not, 2 a usage error (a bad
filter names the option, an unreachable node, an unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from carbonlab.cli.argtypes import node_url
from carbonlab.node.gwp import GwpSet
from carbonlab.node.query_names import FILTER_NAMES as FILTERS
from carbonlab.node.query_names import Level, Period

if TYPE_CHECKING:
    from carbonlab.node.query import EmissionsFilter

T = TypeVar("T")
TIMEOUT_S = 60.0
MAX_PRINTED = 50


def register(sub: Any) -> None:
    parser = sub.add_parser("emissions", help="query emissions and their structure from a ledger "
                                              "file or a member's API")
    cmds = parser.add_subparsers(dest="emissions_command", metavar="ACTION")

    query = cmds.add_parser("query", help="totals by period and group with substituted and missing "
                                          "shares; table, JSON or CAMPD-named CSV")
    _source_args(query)
    query.add_argument("--period", default="day", choices=[p.value for p in Period])
    query.add_argument("--level", default="company", choices=[lv.value for lv in Level])
    query.add_argument("--format", default="table", choices=("table", "json", "csv"))
    query.add_argument("--proofs", action="store_true",
                       help="each row carries the Merkle proofs of its readings (JSON only)")
    query.set_defaults(func=_query)

    structure = cmds.add_parser("structure", help="company -> plant -> unit -> stack and by gas, "
                                                  "tonnes and CO2e, shares, intensity, change")
    _source_args(structure)
    structure.add_argument("--gwp", default="AR5", choices=[g.value for g in GwpSet])
    structure.add_argument("--format", default="table", choices=("table", "json"))
    structure.set_defaults(func=_structure)

    verify = cmds.add_parser("verify-proofs", help="check a saved `query --proofs --format json` "
                                                   "answer offline, against genesis alone")
    verify.add_argument("answer", type=Path, metavar="FILE")
    verify.add_argument("--genesis", type=Path, required=True, help="the trusted genesis.json")
    verify.set_defaults(func=_verify)
    parser.set_defaults(func=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _source_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--ledger", type=Path, metavar="FILE", help="a ledger file (read-only)")
    where.add_argument("--node", type=node_url, metavar="URL", help="a member's API (http://host:port)")
    p.add_argument("--genesis", type=Path, help="with --ledger: default the ledger's own copy")
    for name in FILTERS:
        p.add_argument(f"--{name}", help=_HELP.get(name))
    p.add_argument("--out", type=Path, help="write here instead of stdout")


_HELP = {"gas": "comma-separated co2,ch4,n2o (default all)",
         "since": "unix seconds or ISO 8601 (UTC if no zone); interval starts >= since",
         "until": "unix seconds or ISO 8601; interval starts < until",
         "flag": "comma-separated HJ 212 flags (N, F, M, S, D, C, T, B)",
         "measured": "all | measured | substituted"}


def _filter(args: argparse.Namespace) -> EmissionsFilter:
    from carbonlab.node.query import EmissionsFilter
    return EmissionsFilter.from_params({name: getattr(args, name) for name in FILTERS})


def _fetch(base: str, path: str, params: dict[str, str]) -> Any:
    import httpx

    from carbonlab import jsonfile
    from carbonlab.jsonfile import JsonFileError
    from carbonlab.node.errors import NodeError
    from carbonlab.node.query import FilterError
    url = f"{base.rstrip('/')}{path}?{urlencode(params)}"
    try:
        response = httpx.get(url, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise NodeError(f"--node {base}: no answer ({type(exc).__name__}: {exc})") from None
    try:
        body = jsonfile.loads(response.content)
    except JsonFileError as exc:
        raise NodeError(f"--node {url}: HTTP {response.status_code}, not JSON ({exc.problem})") from None
    if response.status_code == 400 and isinstance(body, dict) and "field" in body:
        raise FilterError(str(body["field"]), str(body.get("error", "")).split(": ", 1)[-1])
    if response.status_code != 200:
        raise NodeError(f"--node {url}: HTTP {response.status_code}: {body}")
    return body


def _answer(node: str, what: str, parse: Callable[[Any], T], body: Any) -> T:
    """A node's 200 answer read back into its typed result; anything else names the node."""
    from carbonlab.node.errors import NodeError
    try:
        return parse(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NodeError(f"--node {node}: not a {what} answer ({type(exc).__name__}: {exc})") from None


def _emit(args: argparse.Namespace, text: str) -> None:
    if args.out:
        from carbonlab.cli.outfile import write_out
        write_out(args.out, text)
    else:
        sys.stdout.write(text)


def _query(args: argparse.Namespace) -> int:
    from carbonlab.cli.emissions_render import query_table
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.query import FilterError, QueryResult, open_source
    from carbonlab.node.query.campd import write_csv

    flt = _filter(args)
    period, level = Period(args.period), Level(args.level)
    if args.proofs and args.format != "json":
        raise FilterError("proofs", "proofs are carried in the JSON format only (--format json)")
    if args.node:
        params = {**flt.params(), "period": period.value, "level": level.value,
                  "proofs": "1" if args.proofs else "0"}
        result = _answer(args.node, "query", QueryResult.from_json,
                         _fetch(args.node, "/v1/emissions/query", params))
    else:
        genesis = None if args.genesis is None else Genesis.load(args.genesis)
        with open_source(args.ledger, genesis) as source:
            result = source.query(flt, period=period, level=level, proofs=args.proofs)
    if args.format == "json":
        _emit(args, json.dumps(result.to_json(), indent=1) + "\n")
    elif args.format == "csv":
        _emit(args, write_csv(result.rows))
    else:
        _emit(args, query_table(result))
    return 0


def _structure(args: argparse.Namespace) -> int:
    from carbonlab.cli.emissions_render import structure_table
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.query import StructureResult, open_source

    flt = _filter(args)
    gwp = GwpSet(args.gwp)
    if args.node:
        params = {**flt.params(), "gwp": gwp.value}
        result = _answer(args.node, "structure", StructureResult.from_json,
                         _fetch(args.node, "/v1/emissions/structure", params))
    else:
        genesis = None if args.genesis is None else Genesis.load(args.genesis)
        with open_source(args.ledger, genesis) as source:
            result = source.structure(flt, gwp)
    if args.format == "json":
        _emit(args, json.dumps(result.to_json(), indent=1) + "\n")
    else:
        _emit(args, structure_table(result))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from carbonlab import jsonfile
    from carbonlab.jsonfile import JsonFileError
    from carbonlab.node.errors import NodeError
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.query import QueryResult
    from carbonlab.node.query.prove import verify_answer

    genesis = Genesis.load(args.genesis)
    try:
        raw = jsonfile.read(args.answer)
    except JsonFileError as exc:
        raise NodeError(str(exc)) from None
    try:
        result = QueryResult.from_json(raw)
    except (ValueError, KeyError, TypeError) as exc:   # SchemaError names the field
        raise NodeError(f"{args.answer}: not a query answer ({exc})") from None
    found = verify_answer(genesis, result)
    problems = found.problems
    for problem in problems[:MAX_PRINTED]:
        print(f"FAILED: {problem}")
    if len(problems) > MAX_PRINTED:
        print(f"FAILED: ... and {len(problems) - MAX_PRINTED} more problems")
    proven = sum(len(r.proofs) for r in result.rows)
    if not problems:
        print(f"ok: {len(result.rows)} rows, {proven} readings proven against genesis "
              f"{genesis.hash.hex()[:16]}... as of height {result.height}")
    for note in found.notes[:MAX_PRINTED]:
        print(f"note: {note}")
    return 1 if problems else 0
