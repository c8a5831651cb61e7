"""Fault validation and the pure value layer."""

from __future__ import annotations

from typing import Any

import pytest

from carbonlab.rig.meters.errors import MetersConfigError
from carbonlab.rig.meters.faults import Faults

TRUE = {"co2_pct": 12.0, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 500.0, "temp_c": 130.0,
        "pressure_kpa": 101.5}


@pytest.mark.parametrize(("changes", "message"), [
    ({"offline": "yes"}, "fault 'offline': must be true or false"),
    ({"slow_s": -1}, "fault 'slow_s': must be 0..60 seconds"),
    ({"exception_code": 9}, "fault 'exception_code': must be 0 (off) or one of 1, 2, 3, 4, 5, 6, 10, 11"),
    ({"wrong_device_id": 300}, "fault 'wrong_device_id': must be 0..247"),
    ({"calibration": "full"}, "fault 'calibration': must be one of '', 'zero', 'span'"),
    ({"spike_every_s": 1.5}, "fault 'spike_every_s': must be an integer"),
    ({"melt": True}, "fault 'melt': unknown; allowed:"),
    ({"since": {}}, "fault 'since': unknown"),
])
def test_bad_fault_changes_are_rejected_whole(changes: dict[str, Any], message: str) -> None:
    faults = Faults()
    with pytest.raises(MetersConfigError) as info:
        faults.update({"maintenance": True, **changes}, 0)
    assert message in str(info.value)
    assert faults.active() == []      # nothing applied: no partial update


def test_active_and_clear() -> None:
    faults = Faults()
    faults.update({"maintenance": True, "slow_s": 2}, 10)
    assert sorted(faults.active()) == ["maintenance", "slow_s"]
    assert faults.since == {"maintenance": 10, "slow_s": 10}
    faults.update({"slow_s": 0}, 12)
    assert faults.active() == ["maintenance"]
    faults.clear()
    assert faults.active() == []


def test_drift_grows_from_when_it_was_set() -> None:
    faults = Faults()
    faults.update({"drift_pct_per_h": 1.0}, 1000)
    assert faults.apply_values(TRUE, 1000, 15.0)["co2_pct"] == pytest.approx(12.0)
    assert faults.apply_values(TRUE, 1000 + 1800, 15.0)["co2_pct"] == pytest.approx(12.5)


def test_spike_stuck_and_calibration_gas() -> None:
    faults = Faults()
    faults.update({"spike_every_s": 10, "spike_pct": 3.0}, 0)
    assert faults.apply_values(TRUE, 20, 15.0)["co2_pct"] == pytest.approx(15.0)
    assert faults.apply_values(TRUE, 21, 15.0)["co2_pct"] == pytest.approx(12.0)
    faults.clear()
    faults.update({"stuck": True}, 0)
    first = faults.apply_values(TRUE, 1, 15.0)
    assert faults.apply_values({**TRUE, "co2_pct": 9.0}, 2, 15.0) == first
    faults.clear()
    faults.update({"calibration": "span"}, 0)
    assert faults.apply_values(TRUE, 1, 15.0)["co2_pct"] == 15.0
    assert Faults().apply_values(TRUE, 1, 15.0, coil_calibration="zero")["co2_pct"] == 0.0
