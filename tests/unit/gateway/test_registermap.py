"""Register map codecs: table-driven, pure (no I/O)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonlab.gateway.errors import FrameError
from carbonlab.gateway.registermap import (
    Coil,
    StatusFlags,
    builtin_map_names,
    load_register_map,
)
from carbonlab.gateway.sample import SampleStatus

VALUES = {"co2_pct": 12.5, "o2_pct": 6.0, "h2o_pct": 8.0, "flow_m3_s": 500.0, "temp_c": 130.0,
          "pressure_kpa": 101.3, "ch4": 5.0, "n2o": 2.0, "gross_mw": 300.0, "heat_input_mw": 800.0}


def test_three_builtin_maps_exist() -> None:
    assert {"t100", "float_inverse", "daq_4_20ma"} <= set(builtin_map_names())


@pytest.mark.parametrize(("name", "first", "count", "tolerance"), [
    ("t100", 100, 108, 1e-5),
    ("float_inverse", 0, 24, 1e-5),
    ("daq_4_20ma", 0, 9, 1e-3),   # one count of 25600 is 4e-5 of the range
])
def test_round_trip(name: str, first: int, count: int, tolerance: float) -> None:
    m = load_register_map(name)
    assert (m.first_register, m.register_count) == (first, count)
    decoded = m.decode(m.encode(VALUES), m.encode_status(StatusFlags()))
    assert decoded.status is SampleStatus.OK, decoded.detail
    assert set(decoded.values) == {c.name for c in m.channels}
    for key, value in VALUES.items():
        if not m.has(key):   # daq_4_20ma has no N2O loop
            continue
        spec = m.channel(key)
        assert decoded.values[key] == pytest.approx(value, abs=tolerance * (spec.max - spec.min))


# 123456.0 is 0x47F12000: libmodbus's documented example for ABCD and CDAB.
@pytest.mark.parametrize(("name", "at", "words"), [
    ("t100", 200 - 100, [0x47F1, 0x2000]),
    ("float_inverse", 0, [0x2000, 0x47F1]),
])
def test_word_order_against_libmodbus_example(name: str, at: int, words: list[int]) -> None:
    m = load_register_map(name)
    spec = m.channel("co2_pct")
    regs = m.encode({"co2_pct": 123456.0})
    assert regs[at:at + 2] == words
    assert spec.address - m.first_register == at


@pytest.mark.parametrize(("value", "counts"), [
    (0.0, 6400), (20.0, 32000), (10.0, 19200), (5.0, 12800),
])
def test_4_20ma_counts(value: float, counts: int) -> None:
    m = load_register_map("daq_4_20ma")
    assert m.encode({"co2_pct": value})[0] == counts


@pytest.mark.parametrize(("counts", "status", "fragment"), [
    (19200, SampleStatus.OK, ""),
    (0, SampleStatus.INVALID, "below 3.8 mA"),          # broken loop
    (6000, SampleStatus.INVALID, "below 3.8 mA"),
    (6200, SampleStatus.OVER_RANGE, "outside"),         # 3.875 mA: under the range, still a value
    (32400, SampleStatus.OVER_RANGE, "outside"),        # 20.2 mA
    (33000, SampleStatus.INVALID, "above 20.5 mA"),
])
def test_4_20ma_loop_states(counts: int, status: SampleStatus, fragment: str) -> None:
    m = load_register_map("daq_4_20ma")
    regs = m.encode(VALUES)
    regs[0] = counts
    decoded = m.decode(regs, m.encode_status(StatusFlags()))
    assert decoded.status is status
    assert fragment in decoded.detail


@pytest.mark.parametrize(("flags", "status"), [
    (StatusFlags(), SampleStatus.OK),
    (StatusFlags(invalid=True), SampleStatus.INVALID),
    (StatusFlags(system_ok=False), SampleStatus.INVALID),
    (StatusFlags(zero_calibration=True), SampleStatus.CALIBRATING),
    (StatusFlags(span_calibration=True, invalid=True), SampleStatus.CALIBRATING),
    (StatusFlags(maintenance=True), SampleStatus.MAINTENANCE),
])
@pytest.mark.parametrize("name", ["t100", "float_inverse", "daq_4_20ma"])
def test_status_bits(name: str, flags: StatusFlags, status: SampleStatus) -> None:
    m = load_register_map(name)
    assert m.decode(m.encode(VALUES), m.encode_status(flags)).status is status


def test_t100_status_bit_positions() -> None:
    m = load_register_map("t100")
    bits = m.encode_status(StatusFlags(system_ok=True, invalid=True))
    assert m.first_bit == 15
    assert bits[19 - 15]
    assert bits[15 - 15]
    assert not bits[16 - 15]
    assert m.coils[Coil.START_ZERO] == 20


def test_nan_and_over_range() -> None:
    m = load_register_map("float_inverse")
    regs = m.encode({**VALUES, "o2_pct": math.nan})
    assert m.decode(regs, m.encode_status(StatusFlags())).status is SampleStatus.INVALID
    regs = m.encode({**VALUES, "temp_c": 400.0})
    decoded = m.decode(regs, m.encode_status(StatusFlags()))
    assert decoded.status is SampleStatus.OVER_RANGE
    assert "temp_c=400" in decoded.detail


def test_calibration_registers() -> None:
    m = load_register_map("t100")
    regs = m.encode(VALUES, calibration={"co2_slope": 1.02, "co2_offset": -0.1})
    decoded = m.decode(regs, m.encode_status(StatusFlags()))
    assert decoded.calibration["co2_slope"] == pytest.approx(1.02)
    assert decoded.calibration["co2_offset"] == pytest.approx(-0.1)
    hi, lo = regs[204 - 100], regs[205 - 100]
    assert struct.unpack(">f", struct.pack(">HH", hi, lo))[0] == pytest.approx(1.02)


@pytest.mark.parametrize(("regs", "bits"), [(107, 12), (109, 12), (108, 11)])
def test_wrong_sizes_are_frame_errors(regs: int, bits: int) -> None:
    m = load_register_map("t100")
    with pytest.raises(FrameError, match="expected"):
        m.decode([0] * regs, [False] * bits)


@given(data=st.data())
@settings(max_examples=200, deadline=None)
@pytest.mark.parametrize("name", ["t100", "float_inverse", "daq_4_20ma"])
def test_round_trip_property(name: str, data: st.DataObject) -> None:
    m = load_register_map(name)
    # drawn in canonical units (heat input in MW where the register holds GJ/h)
    values = {c.name: data.draw(st.floats(c.min / c.factor, c.max / c.factor, allow_nan=False),
                                label=c.name) for c in m.channels}
    decoded = m.decode(m.encode(values), m.encode_status(StatusFlags()))
    assert decoded.status is SampleStatus.OK, decoded.detail
    for c in m.channels:
        # float32 keeps 24 bits of mantissa; counts keep 1/25600 of the range
        step = (c.max - c.min) / 25600 if name == "daq_4_20ma" else abs(values[c.name]) * 2**-23
        assert abs(decoded.values[c.name] - values[c.name]) <= step / 2 + 1e-12 * (c.max - c.min)
