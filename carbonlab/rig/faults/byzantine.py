"""`node.byzantine`: restart a member's node as a liar (carbonlab.rig.byzantine), heal by
restarting it as itself. The node keeps its key, configuration and ledger."""

from __future__ import annotations

from carbonlab.rig.byzantine import MODES
from carbonlab.rig.errors import HostError
from carbonlab.rig.faults.base import Fault, Param
from carbonlab.rig.faults.context import FaultContext
from carbonlab.rig.faults.records import FaultOutcome


def node_args(argv: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(interpreter, the carbonlab arguments from `node run` on) of a node's command line."""
    for i in range(len(argv) - 1):
        if argv[i] == "node" and argv[i + 1] == "run":
            return argv[0], argv[i:]
    raise HostError(f"not a node command line: {' '.join(argv)}")


class Byzantine(Fault):
    id = "node.byzantine"
    summary = "the member's node restarted with a Byzantine behaviour (same key and ledger)"
    target_kind = "node"
    PARAMS = {"mode": Param(str, help="how it lies", choices=MODES)}

    def faulty_members(self) -> tuple[str, ...]:
        return (self.target,)

    def outcome(self) -> FaultOutcome:
        return FaultOutcome(faulty_members=self.faulty_members(), lying_members=(self.target,))

    def apply(self, ctx: FaultContext) -> str:
        ref = ctx.node(self.target)
        facts = ref.host.service(ref.service)
        if not facts.running:
            raise HostError(f"{ref.service} is not running ({facts.state}); nothing to turn Byzantine")
        python, args = node_args(facts.argv)
        self.undo = {"argv": facts.argv, "cwd": facts.cwd}
        ref.host.stop(ref.service)          # the supervisor too: it would restart the honest node
        liar = (python, "-m", "carbonlab.rig.byzantine", "--mode", self.params["mode"],
                "--seed", str(ctx.seed), *args)
        after = ref.host.start(ref.service, liar, facts.cwd)
        return f"{self.target} restarted as {self.params['mode']} (pid {after.pid})"

    def heal(self, ctx: FaultContext) -> str:
        ref = ctx.node(self.target)
        if not self.undo:
            return "nothing to heal"
        ref.host.stop(ref.service)
        after = ref.host.start(ref.service, tuple(self.undo["argv"]), self.undo["cwd"])
        self.undo = {}
        return f"{self.target} restarted honest (pid {after.pid})"
