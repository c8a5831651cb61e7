"""What a node knows of every member: the answer of `GET /v1/peers`.

Theory of operation. A node hears from each peer through the PBFT STATUS heartbeat every
`status_ms` (half the request timeout): the peer's view and its last executed height.
The replica keeps the last of each with the time it arrived (`TransferState.peer_views`,
`peer_heights`, `peer_heard_ms`); the p2p host knows whether the consensus link to the peer
is up (`P2PNode.peer_up`: stream open and heard within `silent_after_s`). `PeersReport`
joins them with the node's own figures, so one call to one's own member tells the console
how the whole consortium looks from there. A peer never heard from has no height, view or
age; a peer whose link dropped is `connected: false` at once (a crash closes its
connections), a silent one when `silent_after_s` passes.

The JSON shape is written and read here only (`to_json`/`from_json`), so the node and its
clients share one schema; `from_json` raises `SchemaError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbonlab.node.schema import as_bool, as_dict, as_float, as_int, as_list, as_str


@dataclass(frozen=True, slots=True)
class MemberStatus:
    member_id: str
    connected: bool                 # for the reporting node itself: always True
    height: int | None              # last executed height it reported (None: never heard)
    view: int | None
    heard_ago_ms: int | None        # since its last STATUS arrived (0 for the node itself)

    def to_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "connected": self.connected, "height": self.height,
                "view": self.view, "heard_ago_ms": self.heard_ago_ms}

    @classmethod
    def from_json(cls, value: Any, field: str) -> MemberStatus:
        obj = as_dict(value, field, required=("member_id", "connected", "height", "view",
                                              "heard_ago_ms"))
        return cls(as_str(obj["member_id"], f"{field}.member_id"),
                   as_bool(obj["connected"], f"{field}.connected"),
                   _opt_int(obj["height"], f"{field}.height"),
                   _opt_int(obj["view"], f"{field}.view"),
                   _opt_int(obj["heard_ago_ms"], f"{field}.heard_ago_ms"))


@dataclass(frozen=True, slots=True)
class PeersReport:
    member_id: str                  # the node that answers
    height: int
    view: int
    primary: str
    commit_latency_ms: float | None   # mean over its recent submissions, None before any
    members: tuple[MemberStatus, ...]  # every genesis member, the node itself included

    def to_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "height": self.height, "view": self.view,
                "primary": self.primary, "commit_latency_ms": self.commit_latency_ms,
                "members": [m.to_json() for m in self.members]}

    @classmethod
    def from_json(cls, value: Any, field: str = "peers") -> PeersReport:
        obj = as_dict(value, field, required=("member_id", "height", "view", "primary",
                                              "commit_latency_ms", "members"))
        latency = obj["commit_latency_ms"]
        return cls(as_str(obj["member_id"], f"{field}.member_id"),
                   as_int(obj["height"], f"{field}.height", lo=0),
                   as_int(obj["view"], f"{field}.view", lo=0),
                   as_str(obj["primary"], f"{field}.primary"),
                   None if latency is None else as_float(latency, f"{field}.commit_latency_ms"),
                   tuple(MemberStatus.from_json(m, f"{field}.members[{i}]")
                         for i, m in enumerate(as_list(obj["members"], f"{field}.members",
                                                       max_len=1000))))


def _opt_int(value: Any, field: str) -> int | None:
    return None if value is None else as_int(value, field, lo=0)
