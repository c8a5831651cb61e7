"""`carbonlab node run --config NODE.toml` and `carbonlab node keygen --out KEY`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from carbonlab.errors import CarbonlabError


def register(sub: Any) -> None:
    parser = sub.add_parser("node", help="run a consortium node or make its key")
    node_sub = parser.add_subparsers(dest="node_command", metavar="ACTION")
    run = node_sub.add_parser("run", help="run the node (libp2p, PBFT, ledger, HTTP API)")
    run.add_argument("--config", required=True, type=Path, help="NODE.toml")
    run.set_defaults(func=_run)
    keygen = node_sub.add_parser("keygen", help="write a new Ed25519 node key; print public key, peer ID")
    keygen.add_argument("--out", required=True, type=Path, help="key file to create (never overwritten)")
    keygen.set_defaults(func=_keygen)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _keygen(args: argparse.Namespace) -> int:
    from carbonlab.node.crypto import Signer
    from carbonlab.node.p2p.identity import peer_id_text

    signer = Signer.generate()
    try:
        signer.save(args.out)
    except CarbonlabError as exc:       # the file, and why (a directory, a read-only folder...)
        raise CarbonlabError(f"--out {exc}") from None
    print(json.dumps({"public_key": signer.public_key.hex(), "peer_id": peer_id_text(signer.public_key)}))
    return 0


def _run(args: argparse.Namespace) -> int:
    from carbonlab.node import config
    from carbonlab.node.run import run_node

    return run_node(config.load(args.config))
