"""Run a node process that lies: `python -m carbonlab.rig.byzantine --mode MODE [--seed N] node run ...`.

The rig starts this in place of a member's node for the `node.byzantine` fault. It is the
real node (same configuration, key, ledger), with the driver's `send` passed through one
of the simulator's Byzantine behaviours (carbonlab.node.sim.byzantine): an equivocating
primary, conflicting votes, forged or oversized envelopes, replays, or silence. The lies
are signed with the member's real key, so they are lies a real faulty member could tell.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from typing import Any

MODES = ("equivocate", "conflicting_votes", "forge", "replay", "silent")


def install(mode: str, seed: int) -> None:
    """Patch the node driver so that every send goes through the behaviour `mode`."""
    from carbonlab.node import driver
    from carbonlab.node.pbft.actions import Send
    from carbonlab.node.sim.byzantine import Behaviour

    original = driver.Driver.send
    made: dict[str, Behaviour] = {}

    def send(self: Any, action: Send) -> None:
        behaviour = made.get("b")
        if behaviour is None:
            replica = self.replica
            behaviour = Behaviour(mode, replica.id, replica.signer, replica.genesis.chain_id,
                                  tuple(replica.genesis.member_ids), random.Random(seed))
            made["b"] = behaviour
        behaviour.observe(action.data)
        for to, data in [*behaviour.outgoing(action.to, action.data), *behaviour.inject()]:
            original(self, Send(to, data))

    driver.Driver.send = send  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carbonlab.rig.byzantine", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the carbonlab arguments: node run --config X")
    args = parser.parse_args(argv)
    if args.command[:2] != ["node", "run"]:
        parser.error("after the options give the node's own arguments: node run --config NODE.toml")
    install(args.mode, args.seed)
    from carbonlab.cli import main as cli_main
    return cli_main(args.command)


if __name__ == "__main__":
    sys.exit(main())
