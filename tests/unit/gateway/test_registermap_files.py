"""Bad register map files are rejected with the file, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import MAPS_DIR, load_register_map


def _base() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((MAPS_DIR / "float_inverse.yaml").read_text())
    return loaded


def _with(path: list[str], value: Any) -> dict[str, Any]:
    raw = _base()
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


_DELETE = object()

CASES = [
    (["encoding"], "float64", "'encoding': must be one of float32, counts_4_20ma"),
    (["word_order"], "middle", "'word_order': must be one of high_first, low_first"),
    (["table"], "coils", "'table': must be one of input, holding"),
    (["channels", "co2_pct", "address"], -1, "'channels.co2_pct.address': must be an integer address"),
    (["channels", "co2_pct", "max"], -5, "'channels.co2_pct.max': must be greater than min"),
    (["channels", "co2_pct"], _DELETE, "'channels.co2_pct': is required"),
    (["channels", "so2_ppm"], {"address": 40, "min": 0, "max": 1}, "unknown channel; allowed: co2_pct"),
    (["channels", "o2_pct", "address"], 1, "register 1 overlaps co2_pct"),
    (["channels", "o2_pct", "address"], 300, "one Modbus read returns at most 125"),
    (["discrete_inputs", "alarm"], 9, "'discrete_inputs.alarm': must be one of system_ok"),
    (["discrete_inputs", "system_ok"], _DELETE, "'discrete_inputs.system_ok': is required"),
    (["discrete_inputs", "invalid"], 0, "address 0 already used by"),
    (["coils", "start_span"], _DELETE, "'coils.start_span': is required"),
    (["calibration", "co2_gain"], 20, "'calibration.co2_gain': unknown"),
    (["checksum"], 1, "'checksum': unknown field"),
]


@pytest.mark.parametrize(("path", "value", "message"), CASES)
def test_bad_map_rejected(tmp_path: Path, path: list[str], value: Any, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(_with(path, value)))
    with pytest.raises(ConfigError) as info:
        load_register_map(str(f))
    assert str(f) in str(info.value)
    assert message in str(info.value)


def test_relative_path_and_unknown_name(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(_base()))
    assert load_register_map("mine.yaml", base_dir=tmp_path).name == "float_inverse"
    with pytest.raises(ConfigError, match="neither a built-in map"):
        load_register_map("t200")


def test_not_yaml(tmp_path: Path) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("channels: [unclosed")
    with pytest.raises(ConfigError, match="cannot read register map"):
        load_register_map(str(f))
