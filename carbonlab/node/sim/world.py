"""The deterministic simulator: one seed, a fake clock, n replicas, gateways, faults, invariants.

Theory of operation. Everything random (the fault plan, network delays and drops,
which node a gateway talks to, Byzantine choices) comes from one `random.Random(seed)`,
and time is a counter advanced in ticks of `tick_ms`, so a seed replays exactly. A run
has two phases. In the fault phase (`steps` ticks) gateways submit signed batches while
the plan's faults act. In the healing phase the network becomes perfect, crashed members
restart from their persisted records and executed blocks, and the run goes on until every
valid batch that was submitted is committed on every honest replica (liveness) or a bound
of fake time passes. Safety invariants are checked on every executed block (`Checker`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from carbonlab.node.sim.byzantine import Behaviour
from carbonlab.node.sim.faults import FaultPlan
from carbonlab.node.sim.invariants import Checker
from carbonlab.node.sim.kit import Kit
from carbonlab.node.sim.network import Network
from carbonlab.node.sim.node import SimNode

GATEWAY_RETRY_MS = 1500
HEAL_LIMIT_MS = 60_000


@dataclass
class Gateway:
    id: str
    in_flight: bytes | None = None
    sent_ms: int = 0
    batches: int = 0


@dataclass
class SimResult:
    seed: int
    n: int
    faults: str
    steps: int
    plan: str
    violations: list[str]
    transcript: list[str]
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def command(self) -> str:
        return (f"carbonlab sim --seed {self.seed} --nodes {self.n} --faults {self.faults} "
                f"--steps {self.steps}")


class World:
    def __init__(self, seed: int, *, n: int = 7, faults: str = "mixed", steps: int = 200,
                 gateways: int = 3, tick_ms: int = 10, submit_chance: float = 0.08,
                 invalid_chance: float = 0.1, readings: int = 1,
                 plan: FaultPlan | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.steps = steps
        self.tick_ms = tick_ms
        self.submit_chance = submit_chance
        self.invalid_chance = invalid_chance
        self.readings = readings
        self.kit = Kit.build(n, gateways)
        genesis = self.kit.genesis
        self.members = genesis.member_ids
        self.plan = plan or FaultPlan.draw(self.rng, self.members, genesis.f, faults, steps)
        self.network = Network(self.rng, self.members, self.plan.link)
        self.checker = Checker(genesis, self.kit.valid)
        self.decided: dict[bytes, tuple[int, bool]] = {}
        self.transcript: list[str] = []
        self.now_ms = 0
        self.nodes: dict[str, list[SimNode]] = {}
        for m in self.members:
            behaviour = self.plan.byzantine.get(m)
            copies = 2 if behaviour == "twins" else 1
            self.nodes[m] = [
                SimNode(m if i == 0 else f"{m}'", m, self.kit.members[m], genesis,
                        honest=behaviour is None,
                        behaviour=None if behaviour in (None, "twins") else Behaviour(
                            behaviour, m, self.kit.members[m], genesis.chain_id, self.members,
                            random.Random(self.rng.random())))
                for i in range(copies)]
        self.gateways = [Gateway(g.id) for g in genesis.gateways]

    # ---- running -------------------------------------------------------------------------

    def note(self, now_ms: int, text: str) -> None:
        self.transcript.append(f"{now_ms:>8} ms  {text}")

    def all_nodes(self) -> list[SimNode]:
        return [node for copies in self.nodes.values() for node in copies]

    def honest_nodes(self) -> list[SimNode]:
        return [node for node in self.all_nodes() if node.honest]

    def run(self) -> SimResult:
        self.note(0, f"seed {self.seed}: {self.plan.describe()}")
        for node in self.all_nodes():
            node.start(0)
        crashes = sorted(self.plan.crashes)
        for step in range(self.steps):
            self._events(step, crashes)
            self._gateways(submit=True)
            self._advance()
        fault_phase_height = max((n.height for n in self.honest_nodes()), default=0)
        self._heal()
        deadline = self.now_ms + HEAL_LIMIT_MS
        while self.now_ms < deadline and not self._settled():
            self._gateways(submit=False)
            self._advance()
        self._check_liveness()
        heights = [n.height for n in self.honest_nodes()]
        stats = {
            "height": max(heights, default=0), "fault_phase_height": fault_phase_height,
            "batches_accepted": sum(1 for _, ok in self.decided.values() if ok),
            "messages": self.network.sent, "dropped_by_network": self.network.dropped,
            "fake_ms": self.now_ms,
            "max_view": max((n.replica.view for n in self.honest_nodes() if n.replica), default=0),
        }
        return SimResult(self.seed, len(self.members), self.plan.mode, self.steps,
                         self.plan.describe(), list(self.checker.violations), self.transcript, stats)

    def _events(self, step: int, crashes: list[tuple[int, str, int]]) -> None:
        for at, member, back in crashes:
            node = self.nodes[member][0]
            if at == step and node.up:
                node.crash()
                self.note(self.now_ms, f"{member} crashes")
            if back == step and not node.up:
                node.start(self.now_ms)
                self.note(self.now_ms, f"{member} restarts at height {node.height}")
        for at, end, groups in self.plan.partitions:
            if at == step:
                self.network.partition(groups)
                self.note(self.now_ms, "partition " + " | ".join(",".join(sorted(g)) for g in groups))
            if end == step:
                self.network.partition([])
                self.note(self.now_ms, "partition healed")

    def _heal(self) -> None:
        self.network.perfect()
        for node in self.all_nodes():
            if not node.up:
                node.start(self.now_ms)
                self.note(self.now_ms, f"{node.name} restarts at height {node.height}")
        self.note(self.now_ms, "network healed; every member up")

    def _gateways(self, *, submit: bool) -> None:
        for gw in self.gateways:
            if gw.in_flight is not None and gw.in_flight in self.decided:
                gw.in_flight = None
            if gw.in_flight is None:
                if not submit or self.rng.random() >= self.submit_chance:
                    continue
                corrupt = ""
                if self.rng.random() < self.invalid_chance:
                    corrupt = self.rng.choice(("co2", "signature"))
                gw.in_flight = self.kit.next_batch(gw.id, self.readings, corrupt=corrupt)
                gw.batches += 1
                self._submit(gw)
            elif self.now_ms - gw.sent_ms >= GATEWAY_RETRY_MS:
                self._submit(gw)

    def _submit(self, gw: Gateway) -> None:
        assert gw.in_flight is not None
        gw.sent_ms = self.now_ms
        member = self.rng.choice(self.members)
        self.note(self.now_ms, f"{gw.id} sends batch {self.kit.batch_seq.get(gw.id, 0)} to {member}")
        for node in self.nodes[member]:
            if node.replica is not None:
                node.handle(self, node.replica.submit(gw.in_flight, self.now_ms), self.now_ms)

    def _advance(self) -> None:
        end = self.now_ms + self.tick_ms
        while (delivery := self.network.pop_due(end)) is not None:
            self.now_ms = max(self.now_ms, delivery.at_ms)
            for node in self.nodes[delivery.to]:
                if node.replica is None:
                    continue
                if node.behaviour is not None:
                    node.behaviour.observe(delivery.data)
                node.handle(self, node.replica.receive(delivery.data, self.now_ms), self.now_ms)
        self.now_ms = end
        for node in self.all_nodes():
            if node.replica is not None:
                node.handle(self, node.replica.tick(self.now_ms), self.now_ms)
                if node.behaviour is not None:
                    for to, data in node.behaviour.inject():
                        self.network.send(node.member, to, data, self.now_ms)

    # ---- liveness ------------------------------------------------------------------------

    def _valid_submitted(self) -> set[tuple[str, int]]:
        keys = set()
        for data in self.kit.valid:
            batch_key = _key(data)
            if batch_key is not None:
                keys.add(batch_key)
        return keys

    def _settled(self) -> bool:
        if any(gw.in_flight is not None for gw in self.gateways):
            return False
        honest = self.honest_nodes()
        heights = {n.height for n in honest}
        if len(heights) != 1:
            return False
        wanted = self._valid_submitted()
        return all(wanted <= self.checker.accepted.get(n.name, set()) for n in honest)

    def _check_liveness(self) -> None:
        if self._settled():
            return
        stuck = [gw.id for gw in self.gateways if gw.in_flight is not None]
        heights = {n.name: n.height for n in self.honest_nodes()}
        missing = {n.name: len(self._valid_submitted() - self.checker.accepted.get(n.name, set()))
                   for n in self.honest_nodes()}
        self.checker.fail(f"liveness: not settled {HEAL_LIMIT_MS} ms after healing "
                          f"(gateways waiting: {stuck}, heights: {heights}, missing batches: {missing})")


def _key(data: bytes) -> tuple[str, int] | None:
    from carbonlab.node.pbft.requests import request_key

    return request_key(data)


def simulate(seed: int, *, n: int = 7, faults: str = "mixed", steps: int = 200, **kw: object) -> SimResult:
    return World(seed, n=n, faults=faults, steps=steps, **kw).run()  # type: ignore[arg-type]
