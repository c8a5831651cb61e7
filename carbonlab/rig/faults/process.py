"""Faults on service processes: kill (SIGKILL), pause (SIGSTOP), restart, for nodes and gateways.

Services run under a supervisor that restarts a crashed one, as systemd does on real hosts.
A killed node stays down until healed (the scenario's "killed members"): its supervisor is told
to hold before the SIGKILL, and the heal releases it (or, with no supervisor left, starts the
command line the host showed before the kill). A killed gateway is a crash the supervisor
answers: it comes back by itself, and the heal checks that it did. The inverse of a pause is
SIGCONT. A restart has nothing to undo: its record says so.
"""

from __future__ import annotations

import time
from typing import ClassVar

from carbonlab.rig.errors import FaultError, HostError
from carbonlab.rig.faults.base import Fault
from carbonlab.rig.faults.context import FaultContext, ServiceRef

COME_BACK_S = 60.0     # a killed gateway's supervisor restarts it after 2 s; a loaded machine is slow


class _ServiceFault(Fault):
    target_kind: ClassVar[str] = "node"

    def ref(self, ctx: FaultContext) -> ServiceRef:
        return ctx.node(self.target) if self.target_kind == "node" else ctx.gateway(self.target)


class _Kill(_ServiceFault):
    summary = "SIGKILL the process, its supervisor told to hold it down; heal lets it start again"

    def apply(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        before = ref.host.service(ref.service)
        if before.supervised:
            ref.host.hold(ref.service)
        ref.host.kill(ref.service, "KILL")
        self.undo = {"argv": before.argv, "cwd": before.cwd}
        return f"SIGKILL {ref.service} pid {before.pid} on {ref.host_id} (held down by its supervisor)"

    def heal(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        facts = ref.host.service(ref.service)
        if facts.supervisor_state == "held":
            after = ref.host.release(ref.service)
            return f"released {ref.service}: its supervisor started it again as pid {after.pid}"
        if facts.running:
            return f"{ref.service} already running"
        if not self.undo.get("argv"):
            raise HostError(f"{ref.service}: no command line recorded, cannot start it again")
        after = ref.host.start(ref.service, tuple(self.undo["argv"]), self.undo["cwd"])
        return f"started {ref.service} again as pid {after.pid}"


class _Crash(_ServiceFault):
    summary = "SIGKILL the process; its supervisor brings it back by itself (heal checks it did)"

    def apply(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        before = ref.host.service(ref.service)
        ref.host.kill(ref.service, "KILL")
        self.undo = {"pid": before.pid, "at": time.monotonic()}
        return f"SIGKILL {ref.service} pid {before.pid} on {ref.host_id}; its supervisor restarts it"

    def heal(self, ctx: FaultContext) -> str:
        ref = self.ref(ctx)
        deadline = time.monotonic() + COME_BACK_S
        while True:
            facts = ref.host.service(ref.service)
            if facts.running and facts.pid != self.undo.get("pid"):
                return f"{ref.service} came back by itself as pid {facts.pid}"
            if time.monotonic() > deadline:
                supervisor = facts.supervisor_state or "not running"
                raise FaultError(f"fault {self.id} on {self.target}: {ref.service} did not come back by "
                                 f"itself within {COME_BACK_S:g} s (service {facts.state}, supervisor "
                                 f"{supervisor}; see {ref.service}.log on {ref.host_id})")
            time.sleep(0.2)


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

    def faulty_members(self) -> tuple[str, ...]:
        return (self.target,)


class NodePause(_Pause):
    id = "node.pause"

    def faulty_members(self) -> tuple[str, ...]:
        return (self.target,)


class NodeRestart(_Restart):
    id = "node.restart"


class GatewayKill(_Crash):
    id = "gateway.kill"
    target_kind = "gateway"


class GatewayPause(_Pause):
    id = "gateway.pause"
    target_kind = "gateway"
