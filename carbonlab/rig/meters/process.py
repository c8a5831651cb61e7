"""A meters process: every meter of a METERS.yaml, their servers and buses, the once-a-second
tick that keeps truth logs complete, and the control endpoint. `run()` serves until cancelled
and always closes what it opened (servers, relays, symlinks, truth logs)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

from carbonlab.gateway.endpoint import Transport
from carbonlab.rig.meters.config import MetersConfig
from carbonlab.rig.meters.control import ControlServer
from carbonlab.rig.meters.errors import MetersConfigError
from carbonlab.rig.meters.meter import EmulatedMeter
from carbonlab.rig.meters.pacing import PacingRelay
from carbonlab.rig.meters.server import MeterServer


class MetersProcess:
    def __init__(self, config: MetersConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.meters: dict[str, EmulatedMeter] = {}
        for spec in config.meters:
            truth = config.truth_dir / f"{spec.endpoint.id}.jsonl" if config.truth_dir else None
            try:
                meter = EmulatedMeter(spec.endpoint, spec.profile, spec.seed, truth, clock)
            except OSError as exc:
                for opened in self.meters.values():
                    opened.close()
                raise MetersConfigError(f"{config.path}: field 'truth_dir': cannot write {truth}: "
                                        f"{exc.strerror}") from exc
            self.meters[spec.endpoint.id] = meter
        groups: dict[str, list[EmulatedMeter]] = {}
        for meter in self.meters.values():  # a TCP meter has its own server; an RTU bus shares one
            groups.setdefault(meter.endpoint.bus, []).append(meter)
        self.servers = [MeterServer(ms, seed=config.seed) for ms in groups.values()]
        self.server_of = {m.endpoint.id: s for s in self.servers for m in s.meters.values()}
        self.relays: list[PacingRelay] = []
        self.control: ControlServer | None = None
        self.ready = asyncio.Event()

    async def run(self) -> None:
        try:
            for bus in self.config.buses:
                relay = PacingRelay(bus.baudrate, bits_per_char=bus.bits_per_char, paced=bus.paced,
                                    gateway_link=bus.gateway_link, meter_link=bus.meter_link)
                self.relays.append(relay)
                await relay.start()
            for server in self.servers:
                await server.start()
            if self.config.control is not None:
                self.control = ControlServer(self.config.control.host, self.config.control.port, self.handle)
                try:
                    await self.control.start()
                except MetersConfigError as exc:
                    raise MetersConfigError(f"{self.config.path}: {exc}") from None
            self.ready.set()
            while True:
                await asyncio.sleep(1.0 - math.fmod(time.time(), 1.0) + 0.01)
                for meter in self.meters.values():
                    meter.advance()
        finally:
            await self.close()

    async def close(self) -> None:
        if self.control is not None:
            await self.control.stop()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.stop()
        for relay in self.relays:
            await relay.stop()
        self.relays.clear()
        for meter in self.meters.values():
            meter.close()

    # -- control -----------------------------------------------------------------------------------
    def describe(self, meter: EmulatedMeter) -> dict[str, Any]:
        e = meter.endpoint
        return {"id": e.id, "transport": e.transport.value, "register_map": meter.map.name,
                "address": f"{e.host}:{e.port}" if e.transport is Transport.TCP else e.serial_port,
                "device_id": e.device_id, "faults": meter.faults.as_dict(), "status": meter.status(),
                "served": meter.served, "true": meter.true, "second": meter.second}

    async def set_faults(self, meter_id: str, changes: dict[str, Any] | None) -> dict[str, Any]:
        meter = self.meters[meter_id]
        was_offline = meter.faults.offline
        meter.advance()
        if changes is None:
            meter.faults.clear()
        else:
            meter.faults.update(changes, meter.second)
        meter.refresh()
        if meter.faults.offline != was_offline:
            await self.server_of[meter_id].set_offline(meter, meter.faults.offline)
        return self.describe(meter)

    async def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if parts == ["healthz"]:
            return 200, {"ok": True, "meters": len(self.meters)}
        if parts == ["meters"] and method == "GET":
            return 200, {"meters": [self.describe(m) for m in self.meters.values()]}
        if parts == ["faults"] and method == "PUT":
            if not isinstance(body, dict):
                raise MetersConfigError("body must be a JSON object of fault fields")
            return 200, {"meters": [await self.set_faults(i, body) for i in list(self.meters)]}
        if len(parts) >= 2 and parts[0] == "meters":
            if parts[1] not in self.meters:
                return 404, {"error": f"no meter {parts[1]!r}; known: {', '.join(self.meters)}"}
            if len(parts) == 2 and method == "GET":
                return 200, self.describe(self.meters[parts[1]])
            if parts[2:] == ["faults"] and method == "PUT":
                if not isinstance(body, dict):
                    raise MetersConfigError("body must be a JSON object of fault fields")
                return 200, await self.set_faults(parts[1], body)
            if parts[2:] == ["faults"] and method == "DELETE":
                return 200, await self.set_faults(parts[1], None)
        return 404, {"error": f"no route {method} {path}"}
