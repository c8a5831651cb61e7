"""The meter capability the rig asks for (`MeterProtocol`), bound in configuration to an emulated
meter or to a physical one (labgrid's protocols/drivers split, STYLE 5).

Both bindings read through the gateway's own poll path (`read_once` over the same
`MeterEndpoint`), so a test that reads a meter runs unchanged on the bench and on the
emulator. Only an emulated meter can have faults switched or a truth log read; asking a
physical meter for them raises `PhysicalMeterError` rather than silently doing nothing.
The rig's meter faults, the `meters` fixture and a bound lab's `FaultContext.meters` all
hold these bindings, so emulated and physical meters are one kind of value to the rig.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.poller import read_once
from carbonlab.gateway.sample import Sample
from carbonlab.rig.meters.control import ControlClient
from carbonlab.rig.meters.errors import PhysicalMeterError


class MeterProtocol(Protocol):
    endpoint: MeterEndpoint

    @property
    def emulated(self) -> bool: ...
    async def read(self) -> Sample: ...
    async def set_faults(self, **faults: Any) -> tuple[str, ...]:
        """Switch fault fields (docs/meters.md); return the faults active on the meter now."""
    async def clear_faults(self) -> None: ...
    def truth(self) -> list[dict[str, Any]]: ...


@dataclass
class EmulatedMeter:
    endpoint: MeterEndpoint
    control_url: str
    truth_path: Path | None = None

    @property
    def emulated(self) -> bool:
        return True

    async def read(self) -> Sample:
        return await read_once(self.endpoint)

    async def set_faults(self, **faults: Any) -> tuple[str, ...]:
        client = ControlClient(self.control_url)
        try:
            meter = await client.set_faults(self.endpoint.id, **faults)
        finally:
            await client.aclose()
        return tuple(sorted((meter.get("faults") or {}).get("since") or {}))

    async def clear_faults(self) -> None:
        client = ControlClient(self.control_url)
        try:
            await client.clear_faults(self.endpoint.id)
        finally:
            await client.aclose()

    def truth(self) -> list[dict[str, Any]]:
        if self.truth_path is None or not self.truth_path.exists():
            return []
        return [json.loads(line) for line in self.truth_path.read_text().splitlines() if line.strip()]


@dataclass
class PhysicalMeter:
    endpoint: MeterEndpoint

    @property
    def emulated(self) -> bool:
        return False

    async def read(self) -> Sample:
        return await read_once(self.endpoint)

    async def set_faults(self, **faults: Any) -> tuple[str, ...]:
        raise PhysicalMeterError(f"meter {self.endpoint.id} is physical: faults cannot be switched "
                                 f"({', '.join(sorted(faults))}); skip this step on the bench")

    async def clear_faults(self) -> None:
        raise PhysicalMeterError(f"meter {self.endpoint.id} is physical: it has no fault switch")

    def truth(self) -> list[dict[str, Any]]:
        raise PhysicalMeterError(f"meter {self.endpoint.id} is physical: it keeps no truth log")


def bind_meter(entry: Mapping[str, Any], path: Path, *, control_url: str | None = None,
               truth_dir: Path | None = None) -> MeterProtocol:
    """A topology/METERS entry -> its binding. `physical: true` marks a real device; anything
    else is emulated and needs the control endpoint of the meters process serving it."""
    fields = {k: v for k, v in entry.items() if k not in ("physical", "profile")}
    endpoint = MeterEndpoint.from_dict(fields, path)
    if entry.get("physical", False) is True:
        return PhysicalMeter(endpoint)
    if control_url is None:
        raise PhysicalMeterError(f"{path}: meter {endpoint.id!r} is emulated but no control endpoint is "
                                 "given; set control_listen in the meters file or mark it physical: true")
    truth = truth_dir / f"{endpoint.id}.jsonl" if truth_dir is not None else None
    return EmulatedMeter(endpoint, control_url, truth)
