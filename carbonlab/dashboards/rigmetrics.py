"""The rig's Prometheus series: faults applied and healed, faults active, invariant results.

The rig owns one `RigMetrics` and calls `fault()` for every fault it applies or heals and
`invariant()` after every invariant check; `serve()` exposes them for the `rig` scrape job.
Names and labels are those of `names.RIG_METRICS`, which the rig dashboard and rules read.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from carbonlab.dashboards.errors import DashboardsError

Action = Literal["apply", "heal"]


class RigMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._faults = Counter(
            "carbonlab_rig_faults",
            "Faults the rig applied and healed",
            ["fault", "action"],
            registry=self.registry,
        )
        self._active = Gauge(
            "carbonlab_rig_fault_active", "1 while the fault is applied", ["fault"], registry=self.registry
        )
        self._invariant = Gauge(
            "carbonlab_rig_invariant_ok",
            "1 when the invariant held at its last check",
            ["invariant"],
            registry=self.registry,
        )

    def fault(self, fault_id: str, action: Action) -> None:
        if action not in ("apply", "heal"):
            raise DashboardsError(f"fault action {action!r} is not one of apply, heal")
        self._faults.labels(fault=fault_id, action=action).inc()
        # both actions exist from the first event on, so "applied and healed" panels show 0, not nothing
        self._faults.labels(fault=fault_id, action="heal" if action == "apply" else "apply")
        self._active.labels(fault=fault_id).set(1 if action == "apply" else 0)

    def invariant(self, name: str, ok: bool) -> None:
        self._invariant.labels(invariant=name).set(1 if ok else 0)

    def serve(self, listen: str) -> Any:
        """Serve /metrics on host:port in a daemon thread; returns the server (it has .shutdown())."""
        host, sep, port = listen.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):   # isdigit() also takes "²"
            raise DashboardsError(f"rig metrics listen address {listen!r} is not host:port")
        server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        return server
