"""CH4, N2O, gross load and heat input from the emulated unit, through a real meters process over
Modbus TCP: the truth log records them, the gateway's poll decodes them in the map's units, and
the values are plausible for the coal unit the profile models (docs/emissions.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbonlab.gateway.endpoint import MeterEndpoint
from carbonlab.gateway.poller import read_once
from carbonlab.gateway.sample import SampleStatus
from carbonlab.loopback import free_loopback_ports
from carbonlab.rig.meters.profile import ProfileSpec, UnitProfile, gross_efficiency
from tests.unit.rig.meters_process import meters_serving
from tests.waiting import wait_until

MAPS = ("t100", "float_inverse", "daq_4_20ma")


@pytest.fixture(scope="module")
def meters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    """A real meters process serving one meter per built-in map: (truth dir, meter -> port)."""
    root = tmp_path_factory.mktemp("meters")
    *modbus, control = free_loopback_ports(len(MAPS) + 1)
    ports = {f"m_{name}": port for name, port in zip(MAPS, modbus, strict=True)}
    lines = [f"seed: 7\ntruth_dir: truth/\ncontrol_listen: 127.0.0.1:{control}\nmeters:"]
    lines += [f"  - {{id: m_{name}, register_map: {name}, transport: tcp, host: 127.0.0.1, "
              f"port: {port}, device_id: 1}}" for name, port in zip(MAPS, modbus, strict=True)]
    with meters_serving(root, "\n".join(lines) + "\n", control):
        yield root / "truth", ports


def endpoint(name: str, port: int) -> MeterEndpoint:
    return MeterEndpoint.from_dict({"id": f"m_{name}", "register_map": name, "transport": "tcp",
                                    "host": "127.0.0.1", "port": port, "device_id": 1,
                                    "timeout_s": 2.0}, "gateway.toml")


def truth_lines(truth: Path, meter: str) -> list[dict[str, object]]:
    files = list(truth.glob(f"{meter}*"))
    if not files:
        return []
    return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", MAPS)
def test_the_poll_decodes_what_the_truth_log_says_was_served(
        meters: tuple[Path, dict[str, int]], name: str) -> None:
    truth, ports = meters
    meter = f"m_{name}"
    sample = asyncio.run(read_once(endpoint(name, ports[meter])))
    assert sample.status is SampleStatus.OK, sample.detail
    served = {int(line["t"]): line["served"]  # type: ignore[call-overload]
              for line in wait_until(lambda: truth_lines(truth, meter) or None, 30,
                                     f"{meter}'s truth log has lines")}
    line = wait_until(lambda: {int(x["t"]): x for x in truth_lines(truth, meter)}.get(int(sample.t)),
                      30, f"{meter}'s truth line for the polled second")
    assert set(served[min(served)]) >= {"ch4", "n2o", "gross_mw", "heat_input_mw"}
    tolerance = 2e-3 if name == "daq_4_20ma" else 1e-5
    for key in ("ch4", "gross_mw", "heat_input_mw", *(("n2o",) if name != "daq_4_20ma" else ())):
        want = line["served"][key]  # type: ignore[index]
        spec = endpoint(name, 1).register_map.channel(key)
        assert sample.values[key] == pytest.approx(want, abs=tolerance * (spec.max - spec.min) +
                                                   1e-6 * abs(want)), key
    assert "n2o" not in sample.values if name == "daq_4_20ma" else "n2o" in sample.values


def test_the_unit_s_channels_follow_load_and_are_plausible_for_coal() -> None:
    profile = UnitProfile(ProfileSpec(capacity_mw=600.0, noise=0.0, initial_load=1.0), 3)
    full = profile.step(0)
    low = UnitProfile(ProfileSpec(capacity_mw=600.0, noise=0.0, initial_load=0.4), 3).step(0)
    assert full.values["gross_mw"] == pytest.approx(600.0 * full.load)
    assert full.values["heat_input_mw"] == pytest.approx(
        full.values["gross_mw"] / gross_efficiency(full.load), rel=1e-4)
    assert 0.33 < gross_efficiency(0.4) < gross_efficiency(1.0) < 0.40
    assert 1.0 < full.values["ch4"] < low.values["ch4"] < 10.0          # ppm dry
    assert 1.0 < full.values["n2o"] < low.values["n2o"] < 5.0


def test_the_older_channels_of_a_seed_are_unchanged() -> None:
    """The new channels draw their noise from their own generator: a seed's CO2, O2, ... are
    what they were before the channels existed (third second of seed 3, as the code at 1d683e7
    produced it)."""
    profile = UnitProfile(ProfileSpec(), 3)
    values = [profile.step(t).values for t in range(3)][2]
    assert {k: values[k] for k in ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c",
                                   "pressure_kpa")} == {
        "co2_pct": 12.443, "o2_pct": 5.5507, "h2o_pct": 8.0949, "flow_m3_s": 493.6352,
        "temp_c": 117.637, "pressure_kpa": 101.2418}
    assert set(values) >= {"ch4", "n2o", "gross_mw", "heat_input_mw"}
