"""Poll every meter at its own rate and hand each `Sample` to the caller.

Theory of operation. One worker per link: a TCP meter has its own connection and
worker; the meters on one serial line share a worker, because RTU is half duplex
(one request on the wire at a time). A worker keeps each of its meters on a fixed
schedule (`t0 + k * sample_period_s`); when a poll overruns, the ticks it missed are
skipped, never bunched up, and counted as `skipped`. The links' schedules are spread evenly
over one period so that many meters are not all polled in the same instant. On a shared
serial bus, a meter that failed twice in a row is asked again only after a backoff
(doubling from its period up to 30 s); its due ticks in between still yield comm-fault
samples, without touching the line. Each due poll yields exactly one
Sample, comm faults included. Workers run in one TaskGroup: cancelling `run()` stops
all of them and closes every link.

Metrics go to the prometheus registry the caller passes (never the global one):
carbonlab_gateway_polls_total{meter,result} and carbonlab_gateway_poll_latency_seconds{meter}.
A meter's transitions are logged, not its polls: one warning `meter_failing` with the reason
when it stops answering (comm fault: timeout, exception response, disconnection), one info
`meter_recovered` with how long and how many polls it failed when it answers again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter

from carbonlab.gateway.bus import MeterLink
from carbonlab.gateway.endpoint import MeterEndpoint, Transport
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.tcplink import TcpLink

log = logging.getLogger(__name__)
SampleSink = Callable[[Sample], Awaitable[None]] | asyncio.Queue[Sample]
BUS_BACKOFF_MAX_S = 30.0
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class PollStats:
    """Plain counters for tests and the benchmark (the prometheus metrics carry the same)."""

    results: Counter[str] = field(default_factory=Counter)   # (meter:result) and result -> count
    latencies_s: list[float] = field(default_factory=list)   # successful-reply latencies, bounded
    skipped: int = 0
    keep_latencies: int = 100_000

    def record(self, sample: Sample) -> None:
        self.results[sample.status.value] += 1
        self.results[f"{sample.meter_id}:{sample.status.value}"] += 1
        if sample.status.value != "comm_fault" and len(self.latencies_s) < self.keep_latencies:
            self.latencies_s.append(sample.latency_s)


@dataclass
class _Outage:
    since: float    # unix time of the first failed poll
    polls: int      # failed polls so far


class Poller:
    def __init__(self, endpoints: Sequence[MeterEndpoint], sink: SampleSink, *,
                 registry: CollectorRegistry | None = None) -> None:
        ids = [e.id for e in endpoints]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(f"meter ids must be unique; repeated: {', '.join(duplicates)}")
        self.endpoints = list(endpoints)
        self._sink = sink
        self.stats = PollStats()
        self._polls: PromCounter | None = None
        self._latency: Histogram | None = None
        if registry is not None:
            self._polls = PromCounter("carbonlab_gateway_polls", "Meter polls by result",
                                      ["meter", "result"], registry=registry)
            self._latency = Histogram("carbonlab_gateway_poll_latency_seconds", "Poll round-trip time",
                                      ["meter"], buckets=LATENCY_BUCKETS, registry=registry)
        self.links = self._group()
        self._stopping = False
        self._failing: dict[str, _Outage] = {}

    def _group(self) -> dict[str, list[MeterEndpoint]]:
        links: dict[str, list[MeterEndpoint]] = {}
        for e in self.endpoints:
            links.setdefault(e.bus, []).append(e)
        for bus, meters in links.items():
            ids = [m.device_id for m in meters]
            if len(set(ids)) != len(ids):
                raise ConfigError(f"{bus}: two meters share a device_id ({ids})")
            first = meters[0]
            for m in meters[1:]:
                if (m.baudrate, m.parity, m.stopbits, m.bytesize) != \
                        (first.baudrate, first.parity, first.stopbits, first.bytesize):
                    raise ConfigError(f"{bus}: meters {first.id} and {m.id} disagree on the line settings")
        return links

    async def run(self) -> None:
        """Poll until cancelled."""
        links = list(self.links.values())
        now = time.monotonic()
        self._stopping = False
        async with asyncio.TaskGroup() as tg:
            for i, meters in enumerate(links):
                # spread the links' schedules over one period: 200 meters polled at the same instant
                # would queue behind each other at both ends and show as latency
                phase = i / len(links) * min(m.sample_period_s for m in meters)
                tg.create_task(self._worker(meters, now + phase))
            try:
                await asyncio.Event().wait()   # until cancelled
            finally:
                # Python 3.11's asyncio.wait_for (used inside pymodbus) can swallow a cancellation
                # that lands as its reply arrives; a worker that lost its cancel stops at this flag.
                self._stopping = True

    async def _worker(self, meters: list[MeterEndpoint], start: float) -> None:
        link = open_link(meters[0])
        # (due time, tick number, index) per meter; the index breaks ties without comparing endpoints
        due = [(start, 0, i) for i in range(len(meters))]
        heapq.heapify(due)
        shared = len(meters) > 1
        silent = [0] * len(meters)         # consecutive comm faults per meter
        retry_at = [0.0] * len(meters)
        try:
            while not self._stopping:
                at, tick, i = heapq.heappop(due)
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                meter = meters[i]
                if shared and time.monotonic() < retry_at[i]:
                    # a dead meter on a shared bus would cost every period its timeout and starve
                    # its neighbours: it is asked again only when its backoff expires
                    await self._emit(Sample(meter.id, time.time(), SampleStatus.COMM_FAULT, {}, 0.0,
                                            f"no reply in {silent[i]} polls; next attempt in "
                                            f"{retry_at[i] - time.monotonic():.1f} s"))
                else:
                    sample = await link.poll(meter)
                    await self._emit(sample)
                    if sample.status is SampleStatus.COMM_FAULT:
                        silent[i] += 1
                        if silent[i] >= 2:
                            backoff = min(BUS_BACKOFF_MAX_S, meter.sample_period_s * 2 ** (silent[i] - 1))
                            retry_at[i] = time.monotonic() + backoff
                    else:
                        silent[i] = 0
                nxt = tick + 1
                late = time.monotonic() - (start + nxt * meter.sample_period_s)
                if late > 0:  # overran: skip the ticks already past
                    missed = int(late // meter.sample_period_s) + 1
                    self.stats.skipped += missed
                    nxt += missed
                heapq.heappush(due, (start + nxt * meter.sample_period_s, nxt, i))
        finally:
            link.close()

    def _transition(self, sample: Sample) -> None:
        mid = sample.meter_id
        outage = self._failing.get(mid)
        if sample.status is SampleStatus.COMM_FAULT:
            if outage is None:
                self._failing[mid] = _Outage(sample.t, 1)
                log.warning("meter %s failing: %s", mid, sample.detail,
                            extra={"event": "meter_failing", "meter": mid, "reason": sample.detail})
            else:
                outage.polls += 1
        elif outage is not None:
            del self._failing[mid]
            down_s = round(sample.t - outage.since, 3)
            log.info("meter %s recovered after %.1f s (%d failed polls)", mid, down_s, outage.polls,
                     extra={"event": "meter_recovered", "meter": mid, "status": sample.status.value,
                            "down_s": down_s, "failed_polls": outage.polls})

    async def _emit(self, sample: Sample) -> None:
        self.stats.record(sample)
        self._transition(sample)
        if self._polls is not None and self._latency is not None:
            self._polls.labels(sample.meter_id, sample.status.value).inc()
            if sample.status.value != "comm_fault":
                self._latency.labels(sample.meter_id).observe(sample.latency_s)
        if isinstance(self._sink, asyncio.Queue):
            await self._sink.put(sample)
        else:
            await self._sink(sample)


def open_link(endpoint: MeterEndpoint) -> MeterLink | TcpLink:
    """The link of a meter's bus: a TCP meter its own connection (`tcplink`, both reads in one
    write), a serial line through pymodbus (`bus`, half duplex, one request at a time)."""
    return TcpLink(endpoint) if endpoint.transport is Transport.TCP else MeterLink(endpoint)


async def read_once(endpoint: MeterEndpoint) -> Sample:
    """One decoded read of one meter (the `carbonlab meters read` command)."""
    link = open_link(endpoint)
    try:
        sample = await link.poll(endpoint)
    finally:
        link.close()
    # the link's detail promises a reconnect; nothing retries a one-shot read
    detail, _, _ = sample.detail.partition("; retry in ")
    return dataclasses.replace(sample, detail=detail)
