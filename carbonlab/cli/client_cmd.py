"""`carbonlab client --node URL --token-file F --genesis FILE [--listen ADDR] [--member ID
--key FILE] [--lab-dir DIR]`: serve one organisation's web console (carbonlab.client)."""

from __future__ import annotations

import argparse
from typing import Any

from carbonlab.cli.argtypes import node_url

OPTIONS = ("node_url", "token_file", "genesis_file", "listen", "member_id", "key_file", "lab_dir",
           "refresh_s", "timeout_s", "body_timeout_s")


def register(sub: Any) -> None:
    parser = sub.add_parser("client", help="serve an organisation's web console against its member's API")
    parser.add_argument("--node", dest="node_url", type=node_url, required=True, metavar="URL",
                        help="the member's API, e.g. http://127.0.0.1:8080 (the only node it talks to)")
    parser.add_argument("--token-file", required=True, metavar="FILE",
                        help="the organisation's token (mode 0600); `--new-token` creates it")
    parser.add_argument("--genesis", dest="genesis_file", required=True, metavar="FILE",
                        help="genesis.json: proofs are checked against it, never against the node")
    parser.add_argument("--listen", metavar="HOST:PORT", help="where to listen (default 127.0.0.1:8090)")
    parser.add_argument("--member", dest="member_id", metavar="ID",
                        help="the member (organisation) this console serves: decides the role's pages")
    parser.add_argument("--key", dest="key_file", metavar="FILE",
                        help="the organisation's signing key, for the actions its role may sign")
    parser.add_argument("--lab-dir", metavar="DIR", help="the lab directory (the rig page reads its reports)")
    parser.add_argument("--refresh-s", type=float, metavar="S", help="live update interval, 0.2..2 (1)")
    parser.add_argument("--timeout-s", type=float, metavar="S", help="timeout of each call to the node (5)")
    parser.add_argument("--body-timeout-s", type=float, metavar="S",
                        help="a request body must arrive within S s plus 1 s per 500 bytes, else 408 (20)")
    parser.add_argument("--new-token", action="store_true",
                        help="create --token-file with a new token (mode 0600) if it does not exist")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from carbonlab.client.config import ClientConfig
    from carbonlab.client.serve import serve_console

    config = ClientConfig.from_options({name: getattr(args, name) for name in OPTIONS})
    return serve_console(config, new_token=args.new_token)
