"""The fault catalogue: every fault id the rig knows, and making a fault from scenario data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carbonlab.rig.errors import FaultError
from carbonlab.rig.faults import meter, network, process, tamper, traffic
from carbonlab.rig.faults.base import REQUIRED, Fault
from carbonlab.rig.faults.byzantine import Byzantine

FAULTS: dict[str, type[Fault]] = {cls.id: cls for cls in (
    process.NodeKill, process.NodePause, process.NodeRestart, network.Partition, network.Isolate,
    Byzantine, tamper.LedgerTamper,
    process.GatewayKill, process.GatewayPause, network.UplinkCut, tamper.DiskFull,
    meter.MeterOffline, meter.MeterSlow, meter.MeterDrift, meter.MeterStuck, meter.MeterSpike,
    meter.MeterException, meter.MeterCalibration, meter.MeterGarbage,
    network.Loss, network.Bandwidth, network.Delay, traffic.Stranger, traffic.Replay,
)}


def make_fault(fault_id: str, target: str, params: Mapping[str, Any] | None = None) -> Fault:
    cls = FAULTS.get(fault_id)
    if cls is None:
        raise FaultError(f"unknown fault {fault_id!r} (known: {', '.join(sorted(FAULTS))})")
    return cls(target, params)


def describe() -> list[dict[str, Any]]:
    """The catalogue as data (for `carbonlab rig list --faults` and the docs)."""
    out = []
    for fault_id, cls in FAULTS.items():
        params = {name: ("required" if p.default is REQUIRED else p.default)
                  for name, p in cls.PARAMS.items()}
        out.append({"id": fault_id, "target": cls.target_kind, "summary": cls.summary, "params": params})
    return out
