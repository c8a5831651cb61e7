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


def test_encoding_specific_fields_refused_on_the_other_encoding(tmp_path: Path) -> None:
    # docs/registermaps.md: word_order is float32 only, counts is counts_4_20ma only
    daq = yaml.safe_load((MAPS_DIR / "daq_4_20ma.yaml").read_text())
    f = tmp_path / "daq.yaml"
    f.write_text(yaml.safe_dump({**daq, "word_order": "low_first"}))
    with pytest.raises(ConfigError, match=r"daq\.yaml: field 'word_order': applies to float32 maps only"):
        load_register_map(str(f))
    f.write_text(yaml.safe_dump({**daq, "word_order": "high_first"}))   # the default is no better
    with pytest.raises(ConfigError, match="field 'word_order'"):
        load_register_map(str(f))
    g = tmp_path / "float.yaml"
    g.write_text(yaml.safe_dump({**_base(), "counts": {"at_4ma": 6400, "at_20ma": 32000}}))
    with pytest.raises(ConfigError, match=r"float\.yaml: field 'counts': applies to counts_4_20ma maps only"):
        load_register_map(str(g))


@pytest.mark.parametrize(("text", "key", "lines"), [
    # the same channel twice: safe_load would read o2 from register 20, not 2
    ("channels:\n  co2_pct: {address: 0, min: 0, max: 25}\n  o2_pct: {address: 2, min: 0, max: 25}\n"
     "  o2_pct: {address: 20, min: 0, max: 25}\n", "o2_pct", (3, 4)),
    # a top-level field twice
    ("table: input\nencoding: float32\ntable: holding\n", "table", (1, 3)),
    # inside a flow mapping
    ("channels:\n  co2_pct: {address: 0, min: 0, max: 25, min: 5}\n", "min", (2, 2)),
])
def test_duplicate_key_refused_naming_it(tmp_path: Path, text: str, key: str, lines: tuple[int, int]) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_register_map(str(f))
    assert str(info.value) == (f"{f}: field {key!r}: given twice in one mapping (lines {lines[0]} and "
                               f"{lines[1]}); write each key once")


def test_duplicate_key_in_a_whole_map_file(tmp_path: Path) -> None:
    text = (MAPS_DIR / "float_inverse.yaml").read_text()
    assert load_register_map(str(MAPS_DIR / "float_inverse.yaml")).word_order.value == "low_first"
    f = tmp_path / "dup.yaml"
    f.write_text(text + "word_order: high_first\n")
    with pytest.raises(ConfigError, match="field 'word_order': given twice"):
        load_register_map(str(f))


def test_merge_keys_still_override(tmp_path: Path) -> None:
    # YAML's merge key is not a duplicate: an explicit key overrides a merged one
    base = yaml.safe_load((MAPS_DIR / "float_inverse.yaml").read_text())
    body = yaml.safe_dump({k: v for k, v in base.items() if k != "channels"})
    f = tmp_path / "merge.yaml"
    f.write_text(body + "channels:\n  co2_pct: &c {address: 0, min: 0, max: 25}\n"
                        "  o2_pct:\n    <<: *c\n    address: 2\n")
    regmap = load_register_map(str(f))
    assert [(c.name, c.address) for c in regmap.channels] == [("co2_pct", 0), ("o2_pct", 2)]


def test_an_alias_bomb_in_a_map_is_refused_at_once(tmp_path: Path) -> None:
    # `description` naming 9**9 nodes through aliases: `repr` of it in the error ran 11-38 s, then
    # MemoryError; the strict loader refuses the expansion before constructing anything
    rows = ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9))
    f = tmp_path / "bomb.yaml"
    f.write_text(f'name: bomb\ndescription: [&a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"], {rows}]\n')
    with pytest.raises(ConfigError, match="aliases expand to more than 10,000 nodes"):
        load_register_map(str(f))


def test_a_long_value_is_quoted_short(tmp_path: Path) -> None:
    base = yaml.safe_load((MAPS_DIR / "float_inverse.yaml").read_text())
    f = tmp_path / "long.yaml"
    f.write_text(yaml.safe_dump({**base, "description": ["x" * 50] * 1000}))
    with pytest.raises(ConfigError) as info:
        load_register_map(str(f))
    assert len(str(info.value)) < 300
    assert "must be a string, got [" in str(info.value)


@pytest.mark.parametrize(("name", "kind"), [
    ("/dev/zero", "not a regular file (a device or a FIFO)"),
    ("{tmp}", "a directory"),
    ("{tmp}/map.txt", "not a YAML file"),
])
def test_what_is_not_a_map_file_is_named(tmp_path: Path, name: str, kind: str) -> None:
    (tmp_path / "map.txt").write_text("name: x\n")
    path = name.format(tmp=tmp_path)
    with pytest.raises(ConfigError) as info:
        load_register_map(path)
    assert str(info.value).startswith(f"{path}: cannot read register map: {kind}")


def test_a_map_not_utf8_names_the_byte(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_register_map(str(f))
    assert str(info.value) == f"{f}: not UTF-8 text (invalid byte at offset 9): not a register map"
