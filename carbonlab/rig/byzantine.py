"""Run a node process that lies: `python -m carbonlab.rig.byzantine --mode MODE [--seed N] node run ...`.

The rig starts this in place of a member's node for the `node.byzantine` fault. It is the
real node (same configuration, key, ledger), with every outgoing message passed through
one of the simulator's Byzantine behaviours (carbonlab.node.sim.byzantine): an
equivocating primary, conflicting votes, forged or oversized envelopes, replays, or
silence. The behaviour is the driver's `outbound_filter` (carbonlab.node.driver), so the
node's code is not patched. The lies are signed with the member's real key, so they are
lies a real faulty member could tell.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from carbonlab.errors import CarbonlabError

if TYPE_CHECKING:
    from carbonlab.node.driver import OutboundFilter
    from carbonlab.node.pbft.actions import Send

# the node's modules (trio, libp2p) are imported only when a liar runs: the fault catalogue
# imports MODES from here

MODES = ("equivocate", "conflicting_votes", "forge", "replay", "silent")


def make_filter(mode: str, seed: int, member_id: str, key_file: Path, genesis_file: Path) -> OutboundFilter:
    """The outbound filter that tells the lies of `mode` as `member_id` (signed with its key)."""
    from carbonlab.node.crypto import Signer
    from carbonlab.node.genesis import Genesis
    from carbonlab.node.pbft.actions import Send
    from carbonlab.node.sim.byzantine import Behaviour

    genesis = Genesis.load(genesis_file)
    behaviour = Behaviour(mode, member_id, Signer.load(key_file), genesis.chain_id,
                          tuple(genesis.member_ids), random.Random(seed))

    def outbound(action: Send) -> list[Send]:
        behaviour.observe(action.data)
        return [Send(to, data) for to, data in [*behaviour.outgoing(action.to, action.data),
                                                *behaviour.inject()]]

    return outbound


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carbonlab.rig.byzantine", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the carbonlab arguments: node run --config X")
    args = parser.parse_args(argv)
    if args.command[:2] != ["node", "run"]:
        parser.error("after the options give the node's own arguments: node run --config NODE.toml")
    node_args = argparse.ArgumentParser(prog="carbonlab node run")
    node_args.add_argument("--config", required=True, type=Path, help="NODE.toml")
    config_path = node_args.parse_args(args.command[2:]).config
    from carbonlab.node import config
    from carbonlab.node.run import run_node

    try:
        cfg = config.load(config_path)
        outbound = make_filter(args.mode, args.seed, cfg.member_id, cfg.key_file, cfg.genesis_file)
        return run_node(cfg, outbound_filter=outbound)
    except CarbonlabError as exc:
        print(f"carbonlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
