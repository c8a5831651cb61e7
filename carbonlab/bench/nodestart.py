"""One node's start-up, measured alone: a small cluster runs, one backup is restarted.

`measure` creates a local cluster of `nodes` members (`LocalCluster`), waits until it is
linked, offers light load (100 readings/s, open loop) for `warm_s` so the ledger and the
consensus records are not empty, then `restarts` times: SIGKILLs the same backup, starts
it again while the light load goes on, and reads its start-up split from its log
(`startup_split`) once it has voted (or after `vote_timeout_s`). The cluster is stopped on
the way out, also on failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from carbonlab.bench.startup_split import CPU, StartupSplit, read_split

if TYPE_CHECKING:
    from carbonlab.bench.localcluster import LocalCluster

LIGHT_RATE = 100.0
READINGS_PER_BATCH = 20


@dataclass(frozen=True)
class Restart:
    split: StartupSplit          # process ages
    cpu: StartupSplit            # CPU seconds used by the process
    height: int                  # the ledger's height when the member was killed
    load_average: float          # 1-minute load average when it had voted (or gave up)


@dataclass(frozen=True)
class NodeStartRun:
    nodes: int
    member: str
    restarts: tuple[Restart, ...]
    load_average_start: float


def measure(root: Path, nodes: int, restarts: int, warm_s: float,
            vote_timeout_s: float = 60.0) -> NodeStartRun:
    import trio

    from carbonlab.bench.localcluster import LocalCluster

    cluster = LocalCluster.create(root, nodes, gateways=8, meters_per_gateway=1)
    load_start = os.getloadavg()[0]
    with cluster.serving(timeout_s=300):
        cluster.wait_linked(timeout_s=120)
        done = trio.run(_restarts, cluster, restarts, warm_s, vote_timeout_s)
    return NodeStartRun(nodes, done[0], tuple(done[1]), load_start)


async def _restarts(cluster: LocalCluster, count: int, warm_s: float,
                    vote_timeout_s: float) -> tuple[str, list[Restart]]:
    import trio

    from carbonlab.bench.openloop import offer

    feeds = cluster.feeds()
    members = list(cluster.members)
    member = members[1]   # n2: a backup in view 0
    others = [m for m in members if m != member]
    await offer(cluster, feeds, members, READINGS_PER_BATCH, LIGHT_RATE, warm_s)
    out: list[Restart] = []
    log = cluster.root / f"{member}.log"
    for _ in range(count):
        height = int((cluster.status(member) or {}).get("height", -1))
        cluster.kill(member)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(offer, cluster, feeds, others, READINGS_PER_BATCH, LIGHT_RATE,
                               vote_timeout_s + 2.0)
            await trio.sleep(1.0)
            skip = log.stat().st_size if log.exists() else 0
            cluster.start(member)
            with trio.move_on_after(vote_timeout_s):
                while not read_split(log, skip).complete:
                    await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
        out.append(Restart(read_split(log, skip), read_split(log, skip, CPU), height, os.getloadavg()[0]))
    return member, out
