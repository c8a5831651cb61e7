"""The same meter interface bound to an emulated meter or to a 'physical' one (here: a device at a
plain address the rig does not control); reading works the same, faults only on the emulated."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carbonlab.gateway.sample import SampleStatus
from carbonlab.rig.meters.binding import bind_meter
from carbonlab.rig.meters.errors import PhysicalMeterError
from tests.integration.modbus.modbus_helpers import running_meters, tcp_meter


def test_emulated_and_physical_bindings(tmp_path: Path) -> None:
    entry = tcp_meter("m1", "t100")

    async def scenario() -> None:
        async with running_meters(tmp_path, [entry]) as process:
            assert process.control is not None
            url = f"http://{process.control.host}:{process.control.port}"
            emulated = bind_meter(entry, tmp_path / "topology.yaml", control_url=url,
                                  truth_dir=tmp_path / "truth")
            physical = bind_meter({**entry, "physical": True}, tmp_path / "topology.yaml")
            assert emulated.emulated
            assert not physical.emulated
            for meter in (emulated, physical):
                assert (await meter.read()).status is SampleStatus.OK
            await emulated.set_faults(maintenance=True)
            assert (await physical.read()).status is SampleStatus.MAINTENANCE   # same device underneath
            await emulated.clear_faults()
            with pytest.raises(PhysicalMeterError, match="physical: faults cannot be switched"):
                await physical.set_faults(offline=True)
            with pytest.raises(PhysicalMeterError, match="keeps no truth log"):
                physical.truth()
        assert emulated.truth()

    asyncio.run(scenario())


def test_emulated_binding_needs_a_control_endpoint(tmp_path: Path) -> None:
    with pytest.raises(PhysicalMeterError, match="no control endpoint"):
        bind_meter(tcp_meter("m1", "t100"), tmp_path / "topology.yaml")
