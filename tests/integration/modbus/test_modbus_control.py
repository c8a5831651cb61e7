"""The meters process's control endpoint over real HTTP: routes, errors, faults on every meter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from carbonlab.rig.meters.errors import MetersConfigError
from tests.integration.modbus.modbus_helpers import control_of, running_meters, tcp_meter


def test_control_routes_and_errors(tmp_path: Path) -> None:
    entries = [tcp_meter("m1", "t100"), tcp_meter("m2", "daq_4_20ma")]

    async def scenario() -> None:
        async with running_meters(tmp_path, entries) as process, control_of(process) as control:
            assert process.control is not None
            base = f"http://{process.control.host}:{process.control.port}"
            listed = await control.meters()
            assert [m["id"] for m in listed] == ["m1", "m2"]
            assert listed[0]["status"] == "ok"
            assert set(listed[0]["served"]) == {"co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c",
                                                "pressure_kpa", "ch4", "n2o", "gross_mw",
                                                "heat_input_mw"}
            after = await control.set_faults("m2", maintenance=True, slow_s=0.1)
            assert after["status"] == "maintenance"
            assert after["faults"]["slow_s"] == 0.1
            with pytest.raises(MetersConfigError, match=r"400: fault 'slow_s': must be 0\.\.60 seconds"):
                await control.set_faults("m1", slow_s=100)
            with pytest.raises(MetersConfigError, match="404: no meter 'm9'"):
                await control.set_faults("m9", offline=True)
            assert (await control.meter("m1"))["faults"]["slow_s"] == 0.0   # the bad request changed nothing
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                everyone = await http.put("/faults", json={"invalid": True})
                assert everyone.status_code == 200
                assert all(m["faults"]["invalid"] for m in everyone.json()["meters"])
                assert (await http.get("/healthz")).json() == {"ok": True, "meters": 2}
                assert (await http.post("/meters")).status_code == 404
                bad = await http.put("/meters/m1/faults", content=b"{not json")
                assert bad.status_code == 400
            cleared = await control.clear_faults("m2")
            assert cleared["faults"]["maintenance"] is False
            assert cleared["faults"]["invalid"] is False

    asyncio.run(scenario())
