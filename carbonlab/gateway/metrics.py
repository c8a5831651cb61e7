"""The gateway's Prometheus metrics (names per INTERFACES.md), on its own registry.

The poller registers carbonlab_gateway_polls_total{meter,result} and
carbonlab_gateway_poll_latency_seconds{meter} on the same registry; this module adds
the outbox, uplink and interval series and serves them on `metrics_listen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


@dataclass
class GatewayMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.outbox_depth = Gauge("carbonlab_gateway_outbox_depth",
                                  "Signed batches in the outbox, not yet committed", registry=r)
        self.outbox_oldest_age = Gauge("carbonlab_gateway_outbox_oldest_age_seconds",
                                       "Age of the oldest batch in the outbox", registry=r)
        self.outbox_full = Gauge("carbonlab_gateway_outbox_backlog_warning",
                                 "1 while the outbox is past its warning size or the disk is low",
                                 registry=r)
        self.dead_letters = Counter("carbonlab_gateway_dead_letters",
                                    "Batches the chain rejected, kept in the dead-letter table",
                                    ["reason"], registry=r)
        self.uploads = Counter("carbonlab_gateway_uploads", "Batch uploads by node and result",
                               ["node", "result"], registry=r)
        self.intervals = Counter("carbonlab_gateway_intervals", "Closed intervals by data flag",
                                 ["meter", "flag"], registry=r)
        self.substituted = Counter("carbonlab_gateway_substituted_intervals",
                                   "Intervals filled with 40 CFR 75 substitute data", ["meter"],
                                   registry=r)
        self.forecast = Gauge("carbonlab_gateway_forecast_co2_kg",
                              "Forecast CO2 mass of the meter over the coming hour, kg (docs/forecast.md)",
                              ["meter"], registry=r)
        self.late_samples = Gauge("carbonlab_gateway_late_samples",
                                  "Samples that arrived after their interval was closed", registry=r)

    def serve(self, listen: str) -> Any:
        """Serve /metrics on host:port in a daemon thread; returns the server (has .shutdown())."""
        host, _, port = listen.rpartition(":")
        server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        return server
