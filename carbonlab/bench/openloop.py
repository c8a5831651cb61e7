"""Open-loop load against a running cluster: signed batches offered at a fixed rate.

Theory of operation. A closed-loop bench (each gateway waits for its commit before it
sends the next batch) measures latency, not capacity: the offered rate falls as soon as
commits slow down, so it never finds where the cluster overloads. Here batch k is due at
`k / batches_per_s` seconds into the phase whatever happened to the ones before, and its
latency runs from that due time (not from when the client got round to sending it) until a
node answers "committed", so a client falling behind counts against the cluster, never
hides it (no coordinated omission).

All batches of a phase are signed and encoded before it starts: the bench's gateways stand
for machines of their own, and signing in the phase would take the nodes' CPU. Batches are
posted as their canonical bytes (the API's `application/vnd.carbonlab.batch+msgpack`, as the
gateways send them). Batch k belongs to gateway `k mod G`, and each gateway always posts to
one member (its home, spread over the members), so its batches reach the primary in
`batch_seq` order (the contract refuses a batch_seq at or below the gateway's last); G is
chosen so that a gateway's batches are at least `GATEWAY_GAP_S` apart. Each batch is one
long-poll POST (`wait_ms`), re-POSTed (idempotent) while the answer is only "accepted". A
503 (the node's `max_pending_batches` reached) is counted as refused and not retried: the
offered load was not taken. After the phase, outstanding batches get `drain_s` more; one
still undecided then counts as committed at the end of the drain (its latency a lower
bound), so a phase that overloads shows a p99 as large as the phase, not a flattering one.

Figures are taken over the last three quarters of the phase (the first quarter warms up).
Before each phase the cluster settles (`settle`: every member's height unchanged for a
second, at most `SETTLE_MAX_S`), so the backlog of an overloaded phase does not count
against the next one.
"""

from __future__ import annotations

import enum
import json
import math
import os
import statistics
from dataclasses import dataclass, field

import h11
import trio

from carbonlab.bench.benchload import Connection
from carbonlab.bench.localcluster import GatewayFeed, LocalCluster
from carbonlab.node.api.body import BATCH_MEDIA_TYPE

GATEWAY_GAP_S = 0.5
SETTLE_QUIET_S = 1.0
SETTLE_MAX_S = 60.0
WAIT_MS = 5000
WARM_UP_FRACTION = 0.25


def gateways_for(readings_per_s: float, per_batch: int) -> int:
    """Gateways needed so that each one's batches are `GATEWAY_GAP_S` apart at this rate."""
    return max(8, math.ceil(readings_per_s / per_batch * GATEWAY_GAP_S))


@dataclass(frozen=True, slots=True)
class OpenLoopPoint:
    """One phase at one offered rate: what committed, how late, what was refused."""

    offered_readings_per_s: float
    readings_per_s: float             # committed, of the batches due in the measured window
    p50_s: float | None
    p99_s: float | None
    offered_batches: int
    committed: int
    refused: int                      # 503: the node's pending bound was reached
    rejected: int                     # the contract refused it (should stay 0)
    failed: int                       # no answer (connection errors, timeouts)
    load_average: float               # this machine's 1-minute load average at the phase's end
    blocks: int = 0                   # blocks the first member executed during the phase (and drain)
    nodes_cpu_cores: float = 0.0      # the members' node processes' CPU over the phase and drain, in cores
    rejected_reasons: dict[str, int] = field(default_factory=dict)   # why, as the node answered

    @property
    def batches_per_block(self) -> float | None:
        return self.committed / self.blocks if self.blocks else None

    @property
    def keeps_up(self) -> bool:
        """Committed at least 95 % of what was offered, nothing refused or lost."""
        return (self.readings_per_s >= 0.95 * self.offered_readings_per_s and not self.refused
                and not self.failed and not self.rejected)

    def within(self, p99_bound_s: float) -> bool:
        return self.keeps_up and self.p99_s is not None and self.p99_s < p99_bound_s


@dataclass
class _Tally:
    latencies: dict[int, float] = field(default_factory=dict)   # batch index -> seconds
    refused: int = 0
    rejected: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)     # rejected: the node's reason -> count


class _Pool:
    """Idle keep-alive connections per member: one per request in flight, reused after."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.idle: dict[str, list[Connection]] = {}

    def take(self, member: str) -> Connection:
        idle = self.idle.setdefault(member, [])
        return idle.pop() if idle else Connection(*self.cluster.api_address(member))

    def give(self, member: str, conn: Connection) -> None:
        self.idle.setdefault(member, []).append(conn)

    async def close(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                await conn.close()


async def offer(cluster: LocalCluster, feeds: list[GatewayFeed], members: list[str], per_batch: int,
                readings_per_s: float, duration_s: float, drain_s: float = 10.0) -> OpenLoopPoint:
    """Offer `readings_per_s` in batches of `per_batch` for `duration_s` to `members`."""
    await settle(cluster, members)
    height_before = await _height(cluster, members[0])
    batches_per_s = readings_per_s / per_batch
    count = max(1, int(batches_per_s * duration_s))
    gateways = min(len(feeds), gateways_for(readings_per_s, per_batch))
    bodies = [feeds[k % gateways].next_batch(per_batch).encode() for k in range(count)]
    homes = [members[g % len(members)] for g in range(gateways)]
    tally, pool = _Tally(), _Pool(cluster)
    cpu_before, wall_before = cluster.cpu_seconds(), trio.current_time()
    start = trio.current_time() + 0.2
    async with trio.open_nursery() as nursery:
        for k, body in enumerate(bodies):
            due = start + k / batches_per_s
            await trio.sleep_until(due)
            nursery.start_soon(_one, pool, homes[k % gateways], k, body, due, tally)
        nursery.cancel_scope.deadline = trio.current_time() + drain_s
    await pool.close()
    cores = (cluster.cpu_seconds() - cpu_before) / max(1e-9, trio.current_time() - wall_before)
    blocks = max(0, await _height(cluster, members[0]) - height_before)
    late_s = duration_s + drain_s
    first = int(count * WARM_UP_FRACTION)
    window = [tally.latencies.get(k, late_s) for k in range(first, count)]
    committed = [k for k in range(first, count) if k in tally.latencies]
    measured_s = (count - first) / batches_per_s
    window.sort()
    return OpenLoopPoint(
        readings_per_s, len(committed) * per_batch / measured_s,
        statistics.median(window) if window else None,
        window[min(len(window) - 1, int(0.99 * len(window)))] if window else None,
        count, len(tally.latencies), tally.refused, tally.rejected, tally.failed, os.getloadavg()[0],
        blocks, cores, dict(sorted(tally.reasons.items())))


async def _height(cluster: LocalCluster, member: str) -> int:
    """The member's executed height (0 when it does not answer: the phase then shows no blocks)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return int((await client.get(f"{cluster.url(member)}/v1/status")).json()["height"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return 0


async def settle(cluster: LocalCluster, members: list[str]) -> None:
    """Wait until no member's height has moved for `SETTLE_QUIET_S` (at most `SETTLE_MAX_S`)."""
    import httpx

    last: dict[str, int] = {}
    quiet_since = trio.current_time()
    async with httpx.AsyncClient(timeout=5) as client:
        with trio.move_on_after(SETTLE_MAX_S):
            while trio.current_time() - quiet_since < SETTLE_QUIET_S:
                heights = {}
                for m in members:
                    try:
                        heights[m] = (await client.get(f"{cluster.url(m)}/v1/status")).json()["height"]
                    except (httpx.HTTPError, ValueError, KeyError):
                        heights[m] = -1
                if heights != last:
                    last, quiet_since = heights, trio.current_time()
                await trio.sleep(0.25)


async def _one(pool: _Pool, member: str, k: int, body: bytes, due: float, tally: _Tally) -> None:
    conn = pool.take(member)
    try:
        while True:
            code, answer = await conn.post(f"/v1/batches?wait_ms={WAIT_MS}", body, WAIT_MS / 1000 + 10,
                                           BATCH_MEDIA_TYPE)
            if code == 503:
                tally.refused += 1
                break
            decision = json.loads(answer)
            status = decision.get("status")
            if status == "committed":
                tally.latencies[k] = trio.current_time() - due
                break
            if status != "accepted":
                tally.rejected += 1
                why = str(decision.get("reason") or f"status {status} (HTTP {code})")
                tally.reasons[why] = tally.reasons.get(why, 0) + 1
                break
    except (OSError, trio.TooSlowError, trio.BrokenResourceError, ValueError, h11.ProtocolError):
        tally.failed += 1
        await conn.close()
        return
    pool.give(member, conn)


async def find_knee(cluster: LocalCluster, feeds: list[GatewayFeed], members: list[str], per_batch: int,
                    first_rate: float, duration_s: float, p99_bound_s: float, step: float = 1.5,
                    max_steps: int = 8) -> list[OpenLoopPoint]:
    """Raise the offered rate by `step` from `first_rate` until a phase does not keep up or its
    p99 passes the bound, at most `max_steps` phases; every phase's point, in order (the knee
    is the last one within; `open_ended` when none passed)."""
    points: list[OpenLoopPoint] = []
    rate = first_rate
    for _ in range(max_steps):
        point = await offer(cluster, feeds, members, per_batch, rate, duration_s)
        points.append(point)
        if not point.within(p99_bound_s):
            break
        rate *= step
    return points


def knee(points: list[OpenLoopPoint], p99_bound_s: float) -> OpenLoopPoint | None:
    """The highest-rate point that kept up with p99 under the bound."""
    good = [p for p in points if p.within(p99_bound_s)]
    return max(good, key=lambda p: p.readings_per_s, default=None)


def open_ended(points: list[OpenLoopPoint], p99_bound_s: float) -> bool:
    """Every phase kept within the bound: the ladder ended before the knee, which is then at
    least the top rate (printed as such, never as the knee itself)."""
    return bool(points) and all(p.within(p99_bound_s) for p in points)


class Relation(enum.Enum):
    """How far a ratio of two knees holds when either may be open-ended."""

    EXACT = "="
    AT_LEAST = ">="        # only the numerator's knee is open-ended (it may be higher)
    AT_MOST = "<="         # only the denominator's is
    UNKNOWN = "unknown"    # both: nothing follows


def knee_ratio(ours: float, ours_open: bool, theirs: float, theirs_open: bool) -> tuple[float, Relation]:
    """ours / theirs, and how far that holds."""
    relation = {(False, False): Relation.EXACT, (True, False): Relation.AT_LEAST,
                (False, True): Relation.AT_MOST, (True, True): Relation.UNKNOWN}[(ours_open, theirs_open)]
    return ours / theirs, relation
