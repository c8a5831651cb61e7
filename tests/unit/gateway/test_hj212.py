"""HJ 212-2017 codec: the standard's example byte for byte, data frames, bad frames (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carbonlab.gateway import hj212
from carbonlab.gateway.errors import FrameError

EXAMPLE = (b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
           b"Flag=5;CP=&&RtdInterval=30&&1C80\r\n")
NOW = datetime(2026, 11, 26, 4, 0, 0, 123000, tzinfo=UTC)


def test_standard_example_decodes_and_reencodes_byte_for_byte() -> None:
    frame = hj212.decode(EXAMPLE)
    assert frame.get("QN") == "20160801085857223"
    assert frame.cn == "1062"
    assert frame.get("MN") == "010000A8900016F000169DC0"
    assert frame.get("Flag") == "5"
    assert frame.cp_values() == {"RtdInterval": "30"}
    assert frame.warnings == ()
    assert hj212.encode(frame) == EXAMPLE


@pytest.mark.parametrize(("data", "crc"), [
    (EXAMPLE[6:-6], 0x1C80),
    (b"", 0xFFFF),
    # worked by hand: (0xFFFF >> 8) ^ 0x01 = 0x00FE, then 8 shift/xor-0xA001 rounds give 0x8081
    (b"\x01", 0x8081),
])
def test_crc16(data: bytes, crc: int) -> None:
    assert hj212.crc16(data) == crc


def _modbus_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_is_not_the_modbus_crc() -> None:
    # Modbus xors each byte into the low byte of the register; HJ 212 shifts the register
    # right by 8 first. Same polynomial, different results (Modbus CRC of 0x01 is 0x807E).
    assert _modbus_crc(b"\x01") == 0x807E
    assert _modbus_crc(EXAMPLE[6:-6]) != 0x1C80


@pytest.mark.parametrize(("cn", "key"), [(hj212.CN_MINUTE, "a05001-Avg"), (hj212.CN_HOUR, "a05001-Avg")])
def test_average_frames_round_trip(cn: str, key: str) -> None:
    frame = hj212.average_frame(cn, "GW1M1", "123456", 1_795_665_600,
                                {"co2_pct": (9.5, 10.25, 11.0), "flow_m3_s": (300.0, 310.5, 320.0)},
                                "N", {"flow_m3_s": 1_117_800.0}, now=NOW)
    wire = hj212.encode(frame)
    back = hj212.decode(wire)
    assert back == frame
    assert hj212.encode(back) == wire
    values = back.cp_values()
    assert values[key] == "10.25"
    assert values["a00000-Cou"] == "1117800"
    assert values["DataTime"] == "20261126120000"   # 04:00 UTC is 12:00 in Beijing
    assert back.get("QN") == "20261126120000123"
    assert back.cn == cn
    assert back.get("ST") == "31"


def test_realtime_frame() -> None:
    frame = hj212.realtime_frame("GW1M1", "123456", 1_795_665_601, {"co2_pct": 10.5, "o2_pct": 6.0},
                                 "N", now=NOW)
    wire = hj212.encode(frame)
    assert b"CN=2011" in wire
    assert b"a05001-Rtd=10.5,a05001-Flag=N;a19001-Rtd=6,a19001-Flag=N" in wire
    assert hj212.decode(wire) == frame


def _with_crc(data: bytes, length: int | None = None) -> bytes:
    return b"##%04d%s%04X\r\n" % (len(data) if length is None else length, data, hj212.crc16(data))


BAD = [
    (b"#0101" + EXAMPLE[6:], "does not start with '##'"),
    (EXAMPLE.replace(b"1C80", b"1C81"), "CRC mismatch: frame says 1C81, data gives 1C80"),
    (EXAMPLE.replace(b"1C80", b"1c80"), "not upper-case"),
    (EXAMPLE.replace(b"1C80", b"1G80"), "not 4 hex digits"),
    (EXAMPLE[:-2], "missing CRLF"),
    (EXAMPLE.replace(b"##0101", b"##0102"), "length field says 102 bytes, data segment has 101"),
    (EXAMPLE.replace(b"##0101", b"##01a1"), "length field is not 4 decimal digits"),
    (_with_crc(b"QN=1;ST=32;CN=1062;PW=100000;Flag=5;CP=&&a=1&&"), "required field MN is missing"),
    (_with_crc(b"QN=1;ST=32;CN=1062;PW=100000;MN=1;Flag=5"), "no CP=&&"),
    (_with_crc(b"QN=1;ST=32;XX=1;CN=1062;PW=100000;MN=1;Flag=5;CP=&&a=1&&"), "unknown header field 'XX'"),
    (_with_crc(b"QN=1;ST=32;CN=1062;PW=100000;MN=1;Flag=5;CP=&&a=1,b&&"), "CP item 'b' is not key=value"),
    (_with_crc(b"QN=1;ST=32;CN;PW=100000;MN=1;Flag=5;CP=&&a=1&&"), "header item 'CN' has no '='"),
    (_with_crc("QN=1;ST=32;CN=1;PW=100000;MN=\u00e9;Flag=5;CP=&&a=1&&".encode()), "non-ASCII"),
]


@pytest.mark.parametrize(("frame", "problem"), BAD)
def test_strict_rejects_bad_frames_naming_the_problem(frame: bytes, problem: str) -> None:
    with pytest.raises(FrameError, match=problem.replace("(", r"\(")):
        hj212.decode(frame)


@pytest.mark.parametrize(("frame", "warning"), [
    (EXAMPLE.replace(b"1C80", b"1C81"), "CRC mismatch"),
    (EXAMPLE.replace(b"1C80", b"1c80"), "not upper-case"),
    (EXAMPLE[:-2], "missing CRLF"),
    (EXAMPLE.replace(b"##0101", b"##0102"), "length field says 102"),
])
def test_lenient_forgives_and_says_what(frame: bytes, warning: str) -> None:
    decoded = hj212.decode(frame, strict=False)
    assert any(warning in w for w in decoded.warnings)
    assert decoded.cp_values() == {"RtdInterval": "30"}


@pytest.mark.parametrize("frame", [b"#0101" + EXAMPLE[6:], EXAMPLE.replace(b"1C80", b"1G80"),
                                   _with_crc(b"QN=1;ST=32;CN=1062;PW=100000;MN=1;Flag=5")])
def test_lenient_still_refuses_what_cannot_be_parsed(frame: bytes) -> None:
    with pytest.raises(FrameError):
        hj212.decode(frame, strict=False)


def test_encoder_refuses_bad_identity_fields() -> None:
    with pytest.raises(FrameError, match="PW"):
        hj212.realtime_frame("GW1", "12", 0, {}, "N", now=NOW)
    with pytest.raises(FrameError, match="MN"):
        hj212.realtime_frame("x" * 25, "123456", 0, {}, "N", now=NOW)
    with pytest.raises(FrameError, match="CN must be"):
        hj212.average_frame("2011", "GW1", "123456", 0, {}, "N", now=NOW)


def test_average_frame_with_averages_only() -> None:
    frame = hj212.average_frame(hj212.CN_HOUR, "GW1M1", "123456", 1_795_665_600,
                                {"co2_pct": 10.5}, "C", {"co2_pct": 1234.5}, now=NOW)
    assert frame.cp[1] == (("a05001-Avg", "10.5"), ("a05001-Cou", "1234.5"), ("a05001-Flag", "C"))


def test_channel_values_read_back_what_was_sent() -> None:
    frame = hj212.realtime_frame("GW1M1", "123456", 1_795_665_601, {"co2_pct": 10.5, "flow_m3_s": 300.25},
                                 "N", now=NOW)
    stamp, values, flags = hj212.channel_values(hj212.decode(hj212.encode(frame)))
    assert stamp == 1_795_665_601
    assert values == {"co2_pct": 10.5, "flow_m3_s": 300.25}
    assert flags == {"co2_pct": "N", "flow_m3_s": "N"}


@pytest.mark.parametrize(("cp", "problem"), [
    (b"DataTime=2026;a05001-Rtd=1", "DataTime '2026' is not YYYYMMDDhhmmss"),
    (b"DataTime=20261126120000;a05001-Rtd=abc", "a05001-Rtd='abc' is not a number"),
    # Python's float() takes all of these; the standard's values are plain decimals
    (b"DataTime=20261126120000;a05001-Rtd=nan", "a05001-Rtd='nan' is not a number"),
    (b"DataTime=20261126120000;a05001-Avg=NaN", "a05001-Avg='NaN' is not a number"),
    (b"DataTime=20261126120000;a00000-Rtd=inf", "a00000-Rtd='inf' is not a number"),
    (b"DataTime=20261126120000;a00000-Rtd=-Infinity", "a00000-Rtd='-Infinity' is not a number"),
    (b"DataTime=20261126120000;a01012-Rtd=1_000", "a01012-Rtd='1_000' is not a number"),
    (b"DataTime=20261126120000;a01012-Rtd=1e3", "a01012-Rtd='1e3' is not a number"),
    (b"DataTime=20261126120000;a01012-Rtd= 12", "a01012-Rtd=' 12' is not a number"),
    (b"DataTime=20261126120000;a01012-Rtd=", "a01012-Rtd='' is not a number"),
    (b"DataTime=20261126120000;a01012-Rtd=" + b"9" * 400, "a01012-Rtd='9999"),
])
def test_channel_values_reject_bad_values(cp: bytes, problem: str) -> None:
    frame = hj212.decode(_with_crc(b"QN=1;ST=31;CN=2011;PW=123456;MN=M1;Flag=4;CP=&&" + cp + b"&&"))
    with pytest.raises(FrameError, match=problem.replace("(", r"\(")):
        hj212.channel_values(frame)


@pytest.mark.parametrize(("raw", "value"), [
    (b"12", 12.0), (b"-0.75", -0.75), (b"+3.5", 3.5), (b"10.", 10.0), (b".5", 0.5), (b"0012.250", 12.25),
])
def test_channel_values_take_plain_decimals(raw: bytes, value: float) -> None:
    data = b"QN=1;ST=31;CN=2011;PW=123456;MN=M1;Flag=4;CP=&&a05001-Rtd=" + raw + b"&&"
    frame = hj212.decode(_with_crc(data))
    assert hj212.channel_values(frame)[1] == {"co2_pct": value}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_data_frames_refuse_values_that_are_not_finite(bad: float) -> None:
    # nan used to go out as "0": a made-up value on the authority's platform
    with pytest.raises(FrameError, match=r"co2_pct is (nan|inf|-inf); only finite values"):
        hj212.realtime_frame("GW1M1", "123456", 0, {"co2_pct": bad}, "N", now=NOW)
    with pytest.raises(FrameError, match="flow_m3_s is"):
        hj212.average_frame(hj212.CN_MINUTE, "GW1M1", "123456", 0, {"flow_m3_s": (1.0, bad, 2.0)}, "N",
                            now=NOW)
    with pytest.raises(FrameError, match="co2_pct is"):
        hj212.average_frame(hj212.CN_HOUR, "GW1M1", "123456", 0, {"co2_pct": 10.0}, "N", {"co2_pct": bad},
                            now=NOW)


def test_ch4_goes_as_a05002_in_dry_mg_m3_with_its_mass() -> None:
    from carbonlab.gateway.service import hj212_ch4_mg_m3

    # 5.0 ppm dry is 3.57879 mg/m3 (docs/emissions.md); the same gas read wet at 8 % H2O
    assert hj212_ch4_mg_m3(5.0, "ppm", "dry", 8.0) == pytest.approx(3.57879, abs=1e-5)
    assert hj212_ch4_mg_m3(3.29249, "mg/m3", "wet", 8.0) == pytest.approx(3.57879, abs=1e-5)
    frame = hj212.average_frame(hj212.CN_MINUTE, "GW1M1", "123456", 1_795_665_600,
                                {"co2_pct": 10.5, "ch4": 3.57879}, "N",
                                {"co2_pct": 1234.5, "ch4": 0.0667}, now=NOW)
    assert frame.cp[2] == (("a05002-Avg", "3.579"), ("a05002-Cou", "0.067"), ("a05002-Flag", "N"))
    _, values, _ = hj212.channel_values(hj212.decode(hj212.encode(frame)))
    assert values == {"co2_pct": 10.5, "ch4": 3.579}
