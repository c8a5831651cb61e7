"""What every page is given: the member's API, genesis, who the console is, and settings.

`Console` is built once by `client.app.build_app` from the command line's options; pages
read it and never touch the network but through `api`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carbonlab.client.nodeapi import NodeApi
    from carbonlab.node.genesis import Genesis, Member

HISTORY_S = 30.0     # how far back commits per second look


@dataclass
class HeightHistory:
    """(monotonic time, height) per member as the pages saw them, for commits per second."""

    samples: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)

    def add(self, member: str, height: int | None, at: float | None = None) -> None:
        if height is None:
            return
        now = time.monotonic() if at is None else at
        points = self.samples.setdefault(member, deque())
        points.append((now, height))
        while points and now - points[0][0] > HISTORY_S:
            points.popleft()

    def rate(self, member: str) -> float | None:
        """Blocks per second over the window; None until two samples a second apart."""
        points = self.samples.get(member)
        if not points or points[-1][0] - points[0][0] < 1.0:
            return None
        (t0, h0), (t1, h1) = points[0], points[-1]
        return max(0, h1 - h0) / (t1 - t0)


@dataclass
class Console:
    api: NodeApi
    genesis: Genesis
    member: Member | None            # the organisation this console serves (None: not named)
    refresh_s: float = 1.0
    lab_dir: Path | None = None
    key_file: Path | None = None     # the organisation's signing key (client.actions signs with it)
    history: HeightHistory = field(default_factory=HeightHistory)

    @property
    def role(self) -> str | None:
        return None if self.member is None else self.member.role
