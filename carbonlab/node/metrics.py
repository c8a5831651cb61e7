"""The node's Prometheus metrics, in a registry of its own (never the global one).

Counters that live in other objects (the p2p driver's frame errors and message
counts, the replica's dropped messages) are read at scrape time by a collector,
so the hot paths only bump plain `collections.Counter`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from carbonlab.node.genesis import Genesis

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


@dataclass
class LiveView:
    """What the collector reads at scrape time; the service keeps it current."""

    height: int = 0
    view: int = 0
    is_primary: bool = False
    peers: dict[str, bool] = field(default_factory=dict)
    p2p_stats: Callable[[], dict[str, int]] = dict
    messages: Callable[[], dict[tuple[str, str], int]] = dict
    replica_dropped: Callable[[], dict[str, int]] = dict
    ledger_writes: Callable[[], dict[str, float]] = dict


class _Live(Collector):
    def __init__(self, live: LiveView) -> None:
        self.live = live

    def collect(self) -> Iterator[Metric]:
        live = self.live
        yield GaugeMetricFamily("carbonlab_height", "Height of the last committed block", live.height)
        yield GaugeMetricFamily("carbonlab_view", "Current PBFT view", live.view)
        yield GaugeMetricFamily("carbonlab_is_primary", "1 when this node is the primary",
                                int(live.is_primary))
        yield GaugeMetricFamily("carbonlab_peers_connected", "Members this node exchanges frames with",
                                sum(live.peers.values()))
        up = GaugeMetricFamily("carbonlab_peer_up", "1 when the member is connected", labels=["peer"])
        for peer, ok in sorted(live.peers.items()):
            up.add_metric([peer], int(ok))
        yield up
        stats = live.p2p_stats()
        families = {
            "frame_errors": CounterMetricFamily("carbonlab_frame_errors", "Frames ignored, by reason",
                                                labels=["reason"]),
            "send_dropped": CounterMetricFamily("carbonlab_p2p_send_dropped",
                                                "Outbound messages dropped, by reason", labels=["reason"]),
            "link_errors": CounterMetricFamily("carbonlab_p2p_link_errors",
                                               "Peer links lost or not established, by reason",
                                               labels=["reason"]),
            "refused": CounterMetricFamily("carbonlab_p2p_refused",
                                           "Connections and streams refused (not genesis members)",
                                           labels=["reason"]),
        }
        for key, count in sorted(stats.items()):
            what, _, reason = key.partition(":")
            if what in families:
                families[what].add_metric([reason], count)
        yield from families.values()
        msgs = CounterMetricFamily("carbonlab_messages", "Consensus messages by type and direction",
                                   labels=["type", "direction"])
        for (kind, direction), count in sorted(live.messages().items()):
            msgs.add_metric([kind, direction], count)
        yield msgs
        dropped = CounterMetricFamily("carbonlab_replica_dropped",
                                      "Messages the replica refused, by reason", labels=["reason"])
        for reason, count in sorted(live.replica_dropped().items()):
            dropped.add_metric([reason], count)
        yield dropped
        writes = live.ledger_writes()
        yield CounterMetricFamily("carbonlab_ledger_write_seconds",
                                  "Time the consensus loop waited for durable ledger writes",
                                  writes.get("seconds", 0.0))
        yield CounterMetricFamily("carbonlab_ledger_writes", "Durable ledger write calls (group commits)",
                                  writes.get("calls", 0))
        yield CounterMetricFamily("carbonlab_ledger_write_actions", "Persist and Execute actions written",
                                  writes.get("actions", 0))


class NodeMetrics:
    def __init__(self, genesis: Genesis) -> None:
        self.genesis = genesis
        self.live = LiveView()
        r = self.registry = CollectorRegistry()
        r.register(_Live(self.live))
        self.commit_latency = Histogram("carbonlab_commit_latency_seconds",
                                        "From submission to this node until its block is committed here",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.blocks_committed = Counter("carbonlab_blocks_committed", "Blocks committed", registry=r)
        place = ["company", "plant", "unit", "stack", "meter"]
        self.readings_committed = Counter("carbonlab_readings_committed",
                                          "Readings committed (accepted by the contract)", place, registry=r)
        self.co2_kg = Counter("carbonlab_co2_kg", "CO2 mass of committed readings, kg", place, registry=r)
        self.view_changes = Counter("carbonlab_view_changes", "Views installed after view changes",
                                    registry=r)
        self.state_transfers = Counter("carbonlab_state_transfers", "State transfers started",
                                       registry=r)
        self.batches_rejected = Counter("carbonlab_batches_rejected", "Batches the contract rejected",
                                        ["reason"], registry=r)
        self.batches_conflicting = Counter(
            "carbonlab_batches_conflicting", "Submissions refused because a different batch is "
            "already committed under the same (gateway_id, batch_seq)", ["gateway"], registry=r)
        self.batches_accepted = Counter("carbonlab_batches_accepted", "Batches the contract accepted",
                                        registry=r)
        self.records = Counter("carbonlab_allowance_records", "Allowance records executed, by outcome "
                               "(accepted, or the refusal's reason)", ["outcome"], registry=r)
        self.anomalies = Counter("carbonlab_anomalies", "Readings accepted with an anomaly mark",
                                 ["kind", "meter"], registry=r)

    def readings(self, meter_id: str, count: int, co2_kg: float) -> None:
        """`count` committed readings of one meter, `co2_kg` in all (one update per meter and block)."""
        info = self.genesis.meter_by_id.get(meter_id)
        labels = ((info.company, info.plant, info.unit, info.stack, meter_id) if info
                  else ("", "", "", "", meter_id))
        self.readings_committed.labels(*labels).inc(count)
        self.co2_kg.labels(*labels).inc(co2_kg)

    def render(self) -> bytes:
        return generate_latest(self.registry)
