"""A stand-in process serving the INTERFACES.md metric names with realistic, moving values.

Run as `python exporter.py --role node|gateway|rig --name ID [--lag BLOCKS] [--primary]`; it
listens on 127.0.0.1 with a port the OS picks and prints `PORT <n>` on stdout once serving.
Used by the live-Prometheus test until a whole lab can run in the test; the metric names come
from carbonlab.dashboards.names so a renamed metric breaks the test, not the dashboards. The rig
role drives the real `RigMetrics` class the rig uses.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from carbonlab.dashboards.names import ALL_METRICS, POLL_OK
from carbonlab.dashboards.rigmetrics import RigMetrics

METERS = [  # (company, plant, unit, stack, meter, kg per second at full load)
    ("power-a", "plant-1", "unit-1", "stack-1", "m1", 150.0),
    ("power-a", "plant-1", "unit-2", "stack-2", "m2", 120.0),
    ("power-b", "plant-2", "unit-1", "stack-1", "m3", 90.0),
]
MEMBERS = ["n1", "n2", "n3", "n4", "n5", "n6", "n7"]


def make(registry: CollectorRegistry, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in ALL_METRICS:
        if m.job != role:
            continue
        name = m.name.removesuffix("_total") if m.type == "counter" else m.name
        cls = {"gauge": Gauge, "counter": Counter, "histogram": Histogram}[m.type]
        out[m.name] = cls(name, m.help, m.labels, registry=registry)
    return out


def run_node(metrics: dict[str, Any], name: str, lag: int, primary: bool, rng: random.Random) -> None:
    g = metrics
    height = 100 - lag
    g["carbonlab_view"].set(2)
    g["carbonlab_is_primary"].set(1 if primary else 0)
    for reason in ("bad_signature", "replay_batch"):
        g["carbonlab_batches_rejected_total"].labels(reason=reason)
    g["carbonlab_frame_errors_total"].labels(reason="truncated")
    g["carbonlab_anomalies_total"].labels(kind="spike", meter="m1")
    others = [p for p in MEMBERS if p != name]
    g["carbonlab_peers_connected"].set(len(others))
    for p in others:
        g["carbonlab_peer_up"].labels(peer=p).set(1)
    while True:
        # every member's height follows the clock (one block per 5 s), so a member started
        # later or ticking slower under load keeps exactly its `--lag` behind the others
        g["carbonlab_height"].set(height + int(time.time() // 5))
        g["carbonlab_blocks_committed_total"].inc()
        g["carbonlab_commit_latency_seconds"].observe(rng.uniform(0.05, 0.6))
        for t in ("pre_prepare", "prepare", "commit"):
            g["carbonlab_messages_total"].labels(type=t, direction="out").inc(6)
            g["carbonlab_messages_total"].labels(type=t, direction="in").inc(6)
        for company, plant, unit, stack, meter, kg_s in METERS:
            labels = {"company": company, "plant": plant, "unit": unit, "stack": stack, "meter": meter}
            g["carbonlab_readings_committed_total"].labels(**labels).inc()
            g["carbonlab_co2_kg_total"].labels(**labels).inc(kg_s * rng.uniform(0.8, 1.0))
        if rng.random() < 0.2:
            g["carbonlab_view_changes_total"].inc()
            g["carbonlab_state_transfers_total"].inc()
            g["carbonlab_batches_rejected_total"].labels(reason="bad_signature").inc()
            g["carbonlab_anomalies_total"].labels(kind="spike", meter="m1").inc()
            g["carbonlab_frame_errors_total"].labels(reason="truncated").inc()
        time.sleep(0.2)


def run_gateway(metrics: dict[str, Any], rng: random.Random) -> None:
    g = metrics
    depth = 3
    while True:
        for _company, _plant, _unit, _stack, meter, kg_s in METERS:
            result = POLL_OK if rng.random() < 0.97 else "comm_fault"
            g["carbonlab_gateway_polls_total"].labels(meter=meter, result=result).inc()
            g["carbonlab_gateway_poll_latency_seconds"].labels(meter=meter).observe(rng.uniform(0.002, 0.05))
            g["carbonlab_gateway_intervals_total"].labels(meter=meter, flag="N").inc()
            g["carbonlab_gateway_forecast_co2_kg"].labels(meter=meter).set(kg_s * 3600 * 0.9)
        depth = max(0, depth + rng.choice((-1, 0, 1)))
        g["carbonlab_gateway_outbox_depth"].set(depth)
        g["carbonlab_gateway_outbox_oldest_age_seconds"].set(depth * 1.5)
        g["carbonlab_gateway_uploads_total"].labels(node="n1", result="committed").inc()
        time.sleep(0.2)


def run_rig(rig: RigMetrics) -> None:
    """The rig's own metrics class, driven like the rig drives it."""
    rig.invariant("agreement", True)
    rig.invariant("exactly_once", True)
    active = False
    while True:
        active = not active
        rig.fault("node_kill", "apply" if active else "heal")
        time.sleep(0.5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("node", "gateway", "rig"), required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--lag", type=int, default=0)
    ap.add_argument("--primary", action="store_true")
    args = ap.parse_args()
    registry = CollectorRegistry()
    rig = RigMetrics(registry) if args.role == "rig" else None
    metrics = make(registry, args.role) if rig is None else {}
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    print(f"PORT {server.server_port}", flush=True)
    rng = random.Random(args.name)
    if args.role == "node":
        run_node(metrics, args.name, args.lag, args.primary, rng)
    elif args.role == "gateway":
        run_gateway(metrics, rng)
    elif rig is not None:
        run_rig(rig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
