"""One simulated member: a replica, its durable store, and the driver loop the real node has.

The store (consensus records, executed blocks, contract state) is what survives a
crash; everything else lives in the `Replica` object, which a crash throws away. The
driver applies `Persist` and `Execute` before any `Send` of the same call, exactly
as the node-service driver must, and answers `ServeBlocks` from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carbonlab.node import contract
from carbonlab.node.block import BlockHeader, CommitCertificate, Proposal
from carbonlab.node.contract import ContractState
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis
from carbonlab.node.pbft import (
    Action,
    Execute,
    Persist,
    RecoveredState,
    Replica,
    Send,
    ServeBlocks,
    StateTransfer,
    ViewChanged,
)
from carbonlab.node.pbft.normal import DEFAULT_MAX_IN_FLIGHT
from carbonlab.node.sim.byzantine import Behaviour

if TYPE_CHECKING:
    from carbonlab.node.sim.world import World


@dataclass
class Store:
    records: list[bytes] = field(default_factory=list)
    blocks: list[tuple[Proposal, CommitCertificate]] = field(default_factory=list)
    state: ContractState = field(default_factory=ContractState)
    head_hash: bytes = b""


class SimNode:
    def __init__(self, name: str, member: str, signer: Signer, genesis: Genesis, *,
                 honest: bool, behaviour: Behaviour | None = None) -> None:
        self.name = name
        self.member = member
        self.signer = signer
        self.genesis = genesis
        self.honest = honest
        self.behaviour = behaviour
        self.store = Store(head_hash=genesis.hash)
        self.replica: Replica | None = None
        self.restarts = 0
        self.started = False

    @property
    def up(self) -> bool:
        return self.replica is not None

    @property
    def height(self) -> int:
        return len(self.store.blocks)

    def start(self, now_ms: int) -> None:
        recovered = None
        if self.started:
            self.restarts += 1
        self.started = True
        if self.store.records or self.store.blocks:
            recovered = RecoveredState(list(self.store.records), self.height, self.store.head_hash,
                                       dict(self.store.state.last_batch_seq))
        # the node's default bound on blocks in flight, so the sweeps check what members run
        self.replica = Replica(self.genesis, self.member, self.signer, recovered=recovered,
                               now_ms=now_ms, max_in_flight=DEFAULT_MAX_IN_FLIGHT)

    def crash(self) -> None:
        self.replica = None

    def handle(self, world: World, actions: list[Action], now_ms: int) -> None:
        sends: list[Send] = []
        for action in actions:
            if isinstance(action, Persist):
                self.store.records.append(action.record)
            elif isinstance(action, Execute):
                self._execute(world, action)
            elif isinstance(action, Send):
                sends.append(action)
            elif isinstance(action, ServeBlocks) and self.replica is not None:
                blocks = self.store.blocks[action.from_seq - 1: action.to_seq]
                reply = self.replica.blocks_reply(action.to, blocks)
                assert isinstance(reply, Send)
                sends.append(reply)
            elif isinstance(action, ViewChanged):
                world.note(now_ms, f"{self.name} installs view {action.view} (primary {action.primary})")
            elif isinstance(action, StateTransfer):
                world.note(now_ms, f"{self.name} fetches {action.from_seq}..{action.to_seq} "
                                   f"from {action.peer}")
        for send in sends:
            out = [(send.to, send.data)] if self.behaviour is None else \
                self.behaviour.outgoing(send.to, send.data)
            for to, data in out:
                world.network.send(self.member, to, data, now_ms)

    def _execute(self, world: World, action: Execute) -> None:
        proposal, cert = action.proposal, action.certificate
        height = self.height
        if proposal.seq != height + 1:
            world.checker.fail(f"exactly-once: {self.name} was asked to execute seq {proposal.seq} "
                               f"at height {height}")
            return
        verdicts = contract.execute(self.genesis, self.store.state, proposal)
        block_hash = BlockHeader.for_proposal(proposal, self.store.head_hash).hash
        if self.honest and proposal.seq not in world.checker.hashes:
            accepted = sum(v.accepted for v in verdicts)
            world.note(world.now_ms, f"height {proposal.seq} first committed by {self.name} (view "
                                     f"{cert.view}, {len(verdicts)} batches, {accepted} accepted)")
        world.checker.executed(self.name, self.honest, height, proposal, cert, block_hash, verdicts,
                               proposal.requests)
        self.store.head_hash = block_hash
        self.store.blocks.append((proposal, cert))
        if self.honest:
            for verdict, request in zip(verdicts, proposal.requests, strict=True):
                world.decided.setdefault(request, (world.now_ms, verdict.accepted))
