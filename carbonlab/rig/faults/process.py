"""Faults on service processes: kill (SIGKILL), pause (SIGSTOP), restart, for nodes and gateways.

The inverse of a kill is a start with the command line the host showed before the kill; of a
pause, SIGCONT. A restart has nothing to undo: its record says so.
"""

from __future__ import annotations

from typing import ClassVar

from carbonlab.rig.errors import HostError
from carbonlab.rig.faults.base import Fault
from carbonlab.rig.faults.context import FaultContext, ServiceRef


class _ServiceFault(Fault):
    target_kind: ClassVar[str] = "node"

    def ref(self, ctx: FaultContext) -> ServiceRef:
        return ctx.node(self.target) if self.target_kind == "node" else ctx.gateway(self.target)


class _Kill(_ServiceFault):
    summary = "SIGKILL the process; heal starts it again with the same command line"

    def apply(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        before = ref.host.service(ref.service)
        ref.host.kill(ref.service, "KILL")
        self.undo = {"argv": before.argv, "cwd": before.cwd}
        return f"SIGKILL {ref.service} pid {before.pid} on {ref.host_id}"

    def heal(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        if ref.host.service(ref.service).running:
            return f"{ref.service} already running"
        if not self.undo.get("argv"):
            raise HostError(f"{ref.service}: no command line recorded, cannot start it again")
        after = ref.host.start(ref.service, tuple(self.undo["argv"]), self.undo["cwd"])
        return f"started {ref.service} again as pid {after.pid}"


class _Pause(_ServiceFault):
    summary = "SIGSTOP the process; heal sends SIGCONT"

    def apply(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        facts = ref.host.pause(ref.service)
        return f"SIGSTOP {ref.service} pid {facts.pid} on {ref.host_id}"

    def heal(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        if ref.host.service(ref.service).state != "paused":
            return f"{ref.service} not paused"
        facts = ref.host.resume(ref.service)
        return f"SIGCONT {ref.service} pid {facts.pid}"


class _Restart(_ServiceFault):
    summary = "SIGTERM and start again (a clean restart); nothing to heal"

    def apply(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        before = ref.host.service(ref.service)
        after = ref.host.restart(ref.service)
        return f"restarted {ref.service}: pid {before.pid} -> {after.pid}"

    def heal(self, ctx: FaultContext) -> str:
        return "nothing to heal (a restart is over once applied)"


class NodeKill(_Kill):
    id = "node.kill"


class NodePause(_Pause):
    id = "node.pause"


class NodeRestart(_Restart):
    id = "node.restart"


class GatewayKill(_Kill):
    id = "gateway.kill"
    target_kind = "gateway"


class GatewayPause(_Pause):
    id = "gateway.pause"
    target_kind = "gateway"
