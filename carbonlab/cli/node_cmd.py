"""`carbonlab node run --config NODE.toml` and `carbonlab node keygen --out KEY`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
from pathlib import Path
from typing import Any

import trio

# py-libp2p's own chatter only from warning up; it logs expected dial failures to absent peers
# at ERROR, and our link stats count those
NODE_QUIET = {"libp2p": logging.WARNING, "multiaddr": logging.WARNING, "hypercorn.access": logging.WARNING,
              "async_service": logging.WARNING, "libp2p.transport.tcp.tcp": logging.CRITICAL,
              "libp2p.network.swarm": logging.CRITICAL}


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
    signer.save(args.out)
    print(json.dumps({"public_key": signer.public_key.hex(), "peer_id": peer_id_text(signer.public_key)}))
    return 0


def _run(args: argparse.Namespace) -> int:
    from carbonlab import logs
    from carbonlab.node import config
    from carbonlab.node.service import NodeService

    cfg = config.load(args.config)
    logs.setup("node", {"member": cfg.member_id}, cfg.log_level, NODE_QUIET)
    service = NodeService(cfg)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            await service.run()

    trio.run(main)
    return 0


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            scope.cancel()
            return
