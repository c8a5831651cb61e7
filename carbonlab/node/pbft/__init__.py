"""PBFT consensus (Castro & Liskov, OSDI 1999) as a pure state machine: events in, actions out.

Nothing here touches the network, the disk or the clock; `Replica` is driven by the
node (over libp2p) and by the deterministic simulator (`carbonlab.node.sim`).
"""

from carbonlab.node.pbft.actions import (
    Action,
    Execute,
    Persist,
    Send,
    ServeBlocks,
    StableCheckpoint,
    StateTransfer,
    ViewChanged,
)
from carbonlab.node.pbft.records import RecoveredState
from carbonlab.node.pbft.replica import Replica

__all__ = ["Action", "Execute", "Persist", "RecoveredState", "Replica", "Send", "ServeBlocks",
           "StableCheckpoint", "StateTransfer", "ViewChanged"]
