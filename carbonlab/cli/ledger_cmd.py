"""`carbonlab ledger ...`: verify a ledger file offline (against a signed head), produce and check
reading proofs, show blocks and the signed head.

Exit codes: 0 when the ledger or proof checks out, 1 when it does not (each problem is
printed), 2 for a usage error (a missing file, an unreadable genesis, a signed head that cannot
be fetched or does not verify).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbonlab.cli import ledger_bench
from carbonlab.cli.argtypes import file_or_url

if TYPE_CHECKING:   # the node's modules load only when an action runs (`--help` stays fast)
    from carbonlab.node.genesis import Genesis


def register(sub: Any) -> None:
    parser = sub.add_parser("ledger", help="verify a ledger offline, prove readings, show blocks")
    cmds = parser.add_subparsers(dest="ledger_command", metavar="ACTION")

    verify = cmds.add_parser("verify", help="check hash chain, Merkle roots, certificates and "
                                            "the contract over a whole ledger file")
    verify.add_argument("ledger", type=Path, metavar="LEDGER")
    verify.add_argument("--genesis", type=Path, required=True, help="the trusted genesis.json")
    verify.add_argument("--head", type=file_or_url, metavar="FILE|URL",
                        help="the consortium's signed head (a saved file, or a member's API URL): "
                             "the ledger must reach it, so a cut tail is caught")
    verify.set_defaults(func=_verify)

    head = cmds.add_parser("head", help="print the ledger's signed head (head block's header and "
                                        "commit certificate) as JSON, for `verify --head`")
    head.add_argument("ledger", type=Path, metavar="LEDGER")
    head.add_argument("--genesis", type=Path, help="default: the ledger's own copy")
    head.add_argument("--out", type=Path, help="write the head here instead of stdout")
    head.set_defaults(func=_head)

    proof = cmds.add_parser("proof", help="print the Merkle proof of one reading as JSON")
    proof.add_argument("ledger", type=Path, metavar="LEDGER")
    proof.add_argument("--meter", required=True)
    proof.add_argument("--seq", type=int, required=True)
    proof.add_argument("--genesis", type=Path, help="default: the ledger's own copy")
    proof.add_argument("--out", type=Path, help="write the proof here instead of stdout")
    proof.set_defaults(func=_proof)

    check = cmds.add_parser("check-proof", help="check a reading proof against genesis alone")
    check.add_argument("proof", type=Path, metavar="PROOF")
    check.add_argument("--genesis", type=Path, required=True, help="the trusted genesis.json")
    check.set_defaults(func=_check_proof)

    show = cmds.add_parser("show", help="print the ledger's head, or one block, as JSON")
    show.add_argument("ledger", type=Path, metavar="LEDGER")
    show.add_argument("--height", type=int, help="show this block with its verdicts")
    show.add_argument("--requests", action="store_true", help="with --height: include request bytes")
    show.add_argument("--genesis", type=Path, help="default: the ledger's own copy")
    show.set_defaults(func=_show)

    ledger_bench.add_parser(cmds)
    parser.set_defaults(func=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _genesis(path: Path | None) -> Genesis | None:
    from carbonlab.node.genesis import Genesis

    return None if path is None else Genesis.load(path)


def _verify(args: argparse.Namespace) -> int:
    from carbonlab.cli.ledger_head import load_head
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.ledger.verify import verify_ledger

    genesis = Genesis.load(args.genesis)
    head = None if args.head is None else load_head(args.head)
    report = verify_ledger(args.ledger, genesis, head)
    for problem in report.problems:
        print(problem)
    print(report.summary())
    if head is None:
        print("note: without --head, a ledger whose last blocks were cut cannot be told from a "
              "complete one", file=sys.stderr)
    return 0 if report.ok else 1


def _head(args: argparse.Namespace) -> int:
    from carbonlab.node.ledger import Ledger, LedgerError

    with Ledger.open_readonly(args.ledger, _genesis(args.genesis)) as ledger:
        head = ledger.signed_head()
    if head is None:
        raise LedgerError(f"{args.ledger}: no block committed yet, so no signed head")
    text = json.dumps(head.to_json(), indent=2) + "\n"
    if args.out:
        from carbonlab.cli.outfile import write_out
        write_out(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _proof(args: argparse.Namespace) -> int:
    from carbonlab.node.ledger import Ledger, LedgerError

    with Ledger.open_readonly(args.ledger, _genesis(args.genesis)) as ledger:
        proof = ledger.reading_proof(args.meter, args.seq)
    if proof is None:
        raise LedgerError(f"{args.ledger}: no accepted reading {args.meter}/{args.seq}")
    text = json.dumps(proof, indent=2) + "\n"
    if args.out:
        from carbonlab.cli.outfile import write_out
        write_out(args.out, text)
    else:
        sys.stdout.write(text)
    return 0


def _check_proof(args: argparse.Namespace) -> int:
    from carbonlab import jsonfile
    from carbonlab.jsonfile import JsonFileError
    from carbonlab.node.errors import NodeError
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.ledger.proof import ProofError, check_proof

    genesis = Genesis.load(args.genesis)
    try:
        proof = jsonfile.read(args.proof)
    except JsonFileError as exc:
        raise NodeError(str(exc)) from None
    try:
        reading = check_proof(genesis, proof)
    except ProofError as exc:
        print(f"FAILED: {exc}")
        return 1
    signers = ", ".join(m for m, _ in proof["certificate"]["signatures"])
    print(f"ok: reading {reading.meter_id}/{reading.seq} ({reading.co2_kg:.3f} kg CO2 over "
          f"{reading.interval_s} s from {reading.interval_start}) is in block {proof['block']['height']}"
          f", certified by {signers}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from carbonlab.errors import CarbonlabError
    from carbonlab.node.ledger import Ledger, LedgerError
    from carbonlab.node.ledger.render import block_json

    if args.requests and args.height is None:
        raise CarbonlabError("ledger show: --requests applies only with --height (the requests of "
                             "one block); give --height H")
    with Ledger.open_readonly(args.ledger, _genesis(args.genesis)) as ledger:
        if args.height is not None:
            block = ledger.block(args.height)
            if block is None:
                raise LedgerError(f"{args.ledger}: no block at height {args.height} "
                                  f"(blocks 1..{ledger.height})")
            out: dict[str, Any] = block_json(block, with_requests=args.requests)
        else:
            checkpoint = ledger.stable_checkpoint()
            out = {"chain_id": ledger.genesis.chain_id, "genesis_hash": ledger.genesis.hash.hex(),
                   "height": ledger.height, "head_hash": ledger.head_hash.hex(),
                   "readings": ledger.reading_count(),
                   "rejections": ledger.rejection_count(),
                   "stable_checkpoint": None if checkpoint is None else checkpoint.seq}
    print(json.dumps(out, indent=2))
    return 0
