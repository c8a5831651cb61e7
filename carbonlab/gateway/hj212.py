"""HJ 212-2017 frames: pure encode/decode, no I/O.

Theory of operation. A frame is

    "##" + 4-digit decimal length of the data segment + data segment + 4-hex CRC16 + "\\r\\n"

The data segment is `QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&...&&`
and the CP (command parameter) area holds groups separated by ';', each a list of
`key=value` items separated by ','. The CRC is the standard's own (not Modbus's, which
shifts the other way): start at 0xFFFF; for each byte, crc = (crc >> 8) ^ byte, then
eight rounds of "shift right, xor 0xA001 if the bit shifted out was 1"; it covers
the data segment only and is written as four upper-case hex digits.

`decode(strict=True)` insists on everything the standard says; `strict=False` (for
real data acquisition units, several of which get details wrong) accepts a missing
CRLF, lower-case hex, a wrong length field and a wrong CRC, and lists each thing it
forgave in `Frame.warnings`. Both refuse what cannot be parsed, naming the problem.
A decoded frame keeps its fields in the order it read them, so re-encoding a
well-formed frame gives the same bytes.

Data frames built here: 2011 (real-time), 2051 (minute) and 2061 (hour), ST=31
(gas emission source). Pollutant codes are from the standard's code table (HJ 212-2017
appendix B, flue gas: a00000 flue gas flow, a01012 temperature, a01013 pressure,
a01014 humidity, a19001 O2, a05001 CO2, a05002 CH4); `CODES` maps our channel names onto
them. CH4 goes as mg/m3 at 273.15 K, 101.325 kPa on dry gas (the standard's reference for
concentrations) with its interval mass in kg as `-Cou`. N2O is not sent: we could not check
its code against the standard's table, and a wrong code would be filed under another
pollutant (docs/gateway.md). Gross load and heat input are not pollutants of the table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from carbonlab.gateway.errors import FrameError

HEADER_KEYS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
REQUIRED_KEYS = ("ST", "CN", "PW", "MN", "CP")
MAX_DATA_LEN = 1024
CN_REALTIME, CN_MINUTE, CN_HOUR = "2011", "2051", "2061"
ST_GAS = "31"
FLAG_V2017 = 4          # bits 2..7 = protocol version 1 (HJ 212-2017); bit 0 asks for an answer
CODES = {"flow_m3_s": "a00000", "temp_c": "a01012", "pressure_kpa": "a01013",
         "h2o_pct": "a01014", "o2_pct": "a19001", "co2_pct": "a05001", "ch4": "a05002"}
CHINA_TZ = timezone(timedelta(hours=8))   # the standard's times are local (Beijing) time
_LEN = re.compile(rb"\d{4}")
_HEX = re.compile(rb"[0-9A-F]{4}")
_HEX_ANY = re.compile(rb"[0-9A-Fa-f]{4}")
# A data value as the standard writes one (appendix A: N14.2 and the like): optional sign, decimal
# digits, optional fraction. Python's float() would also take nan, inf, 1e3 and 1_000.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

CpGroup = tuple[tuple[str, str], ...]


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            carry = crc & 1
            crc >>= 1
            if carry:
                crc ^= 0xA001
    return crc


@dataclass(frozen=True)
class Frame:
    header: tuple[tuple[str, str], ...]        # in wire order, CP excluded
    cp: tuple[CpGroup, ...]                    # groups of key=value items
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def get(self, key: str, default: str = "") -> str:
        return dict(self.header).get(key, default)

    @property
    def cn(self) -> str:
        return self.get("CN")

    def cp_values(self) -> dict[str, str]:
        return {k: v for group in self.cp for k, v in group}

    def data_segment(self) -> str:
        head = "".join(f"{k}={v};" for k, v in self.header)
        cp = ";".join(",".join(f"{k}={v}" for k, v in group) for group in self.cp)
        return f"{head}CP=&&{cp}&&"


def encode(frame: Frame) -> bytes:
    data = frame.data_segment().encode("ascii")
    if len(data) > MAX_DATA_LEN:
        raise FrameError(f"HJ 212 data segment is {len(data)} bytes; the standard allows {MAX_DATA_LEN}")
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data))


def decode(buf: bytes, *, strict: bool = True) -> Frame:
    warnings: list[str] = []

    def forgive(problem: str) -> None:
        if strict:
            raise FrameError(f"HJ 212 frame: {problem}")
        warnings.append(problem)

    if not buf.startswith(b"##"):
        raise FrameError("HJ 212 frame: does not start with '##'")
    if buf.endswith(b"\r\n"):
        body = buf[2:-2]
    else:
        forgive("missing CRLF terminator")
        body = buf[2:].rstrip(b"\r\n")
    if len(body) < 8 or not _LEN.fullmatch(body[:4]):
        raise FrameError("HJ 212 frame: length field is not 4 decimal digits")
    declared = int(body[:4])
    data, crc_text = body[4:-4], body[-4:]
    if declared != len(data):
        forgive(f"length field says {declared} bytes, data segment has {len(data)}")
    if not _HEX_ANY.fullmatch(crc_text):
        raise FrameError(f"HJ 212 frame: CRC {crc_text!r} is not 4 hex digits")
    if not _HEX.fullmatch(crc_text):
        forgive(f"CRC {crc_text.decode()} is not upper-case")
    if int(crc_text, 16) != crc16(data):
        forgive(f"CRC mismatch: frame says {crc_text.decode()}, data gives {crc16(data):04X}")
    if len(data) > MAX_DATA_LEN:
        forgive(f"data segment is {len(data)} bytes, more than {MAX_DATA_LEN}")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError(f"HJ 212 frame: non-ASCII byte at data offset {exc.start}") from None
    return _parse_data(text, strict, warnings)


def _parse_data(text: str, strict: bool, warnings: list[str]) -> Frame:
    marker = text.find("CP=&&")
    if marker < 0 or not text.endswith("&&") or len(text) < marker + 7:
        raise FrameError("HJ 212 frame: no CP=&&...&& command parameter area at the end")
    header: list[tuple[str, str]] = []
    for item in filter(None, text[:marker].split(";")):
        key, eq, value = item.partition("=")
        if not eq:
            raise FrameError(f"HJ 212 frame: header item {item!r} has no '='")
        if key not in HEADER_KEYS:
            if strict:
                raise FrameError(f"HJ 212 frame: unknown header field {key!r}; "
                                 f"allowed: {', '.join(HEADER_KEYS)}")
            warnings.append(f"unknown header field {key!r}")
        header.append((key, value))
    keys = {k for k, _ in header} | {"CP"}
    for key in REQUIRED_KEYS:
        if key not in keys:
            raise FrameError(f"HJ 212 frame: required field {key} is missing")
    cp: list[CpGroup] = []
    area = text[marker + 5: -2]
    for group in area.split(";") if area else []:
        items = []
        for item in group.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise FrameError(f"HJ 212 frame: CP item {item!r} is not key=value")
            items.append((key, value))
        cp.append(tuple(items))
    return Frame(tuple(header), tuple(cp), tuple(warnings))


# -- data frames ------------------------------------------------------------------------------

def qn(t: datetime) -> str:
    """Request number: local time to the millisecond, YYYYMMDDhhmmsszzz."""
    local = t.astimezone(CHINA_TZ)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def data_time(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).astimezone(CHINA_TZ).strftime("%Y%m%d%H%M%S")


def _num(key: str, value: float) -> str:
    # nan once went out as "0" and inf as "inf": a value the decoder (and the platform) refuses
    if not math.isfinite(value):
        raise FrameError(f"HJ 212 frame: {key} is {value}; only finite values can be sent")
    return f"{value:.3f}".rstrip("0").rstrip(".")


def realtime_frame(mn: str, pw: str, t_unix: float, values: Mapping[str, float], flag: str,
                   *, now: datetime | None = None) -> Frame:
    """CN=2011: one value per channel (`-Rtd`) with its data flag."""
    groups: list[CpGroup] = [(("DataTime", data_time(t_unix)),)]
    groups += [((f"{CODES[k]}-Rtd", _num(k, v)), (f"{CODES[k]}-Flag", flag))
               for k, v in values.items() if k in CODES]
    return _frame(CN_REALTIME, mn, pw, groups, now)


def average_frame(cn: str, mn: str, pw: str, start_unix: float,
                  stats: Mapping[str, float | tuple[float, float, float]], flag: str,
                  totals: Mapping[str, float] | None = None, *,
                  now: datetime | None = None) -> Frame:
    """CN=2051 (minute) or 2061 (hour): min/avg/max per channel (or the average alone),
    `-Cou` totals, data flag."""
    if cn not in (CN_MINUTE, CN_HOUR):
        raise FrameError(f"HJ 212 average frame: CN must be {CN_MINUTE} or {CN_HOUR}, got {cn}")
    groups: list[CpGroup] = [(("DataTime", data_time(start_unix)),)]
    for k, stat in stats.items():
        if k not in CODES:
            continue
        if isinstance(stat, tuple):
            lo, avg, hi = stat
            items = [(f"{CODES[k]}-Min", _num(k, lo)), (f"{CODES[k]}-Avg", _num(k, avg)),
                     (f"{CODES[k]}-Max", _num(k, hi))]
        else:
            items = [(f"{CODES[k]}-Avg", _num(k, stat))]
        if totals and k in totals:
            items.append((f"{CODES[k]}-Cou", _num(k, totals[k])))
        items.append((f"{CODES[k]}-Flag", flag))
        groups.append(tuple(items))
    return _frame(cn, mn, pw, groups, now)


def channel_values(frame: Frame) -> tuple[float | None, dict[str, float], dict[str, str]]:
    """What a data frame reports, in our channel names: (DataTime as unix s or None,
    {channel: value}, {channel: flag}). Takes `-Rtd` (2011) or `-Avg` (2051/2061);
    codes we do not map are ignored. A value that is not a plain finite decimal number (nan, inf,
    an exponent, a digit separator) is a FrameError naming the item."""
    by_code = {code: name for name, code in CODES.items()}
    values: dict[str, float] = {}
    flags: dict[str, str] = {}
    stamp: float | None = None
    for key, raw in frame.cp_values().items():
        if key == "DataTime":
            try:
                local = datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TZ)
            except ValueError:
                raise FrameError(f"HJ 212 frame: DataTime {raw!r} is not YYYYMMDDhhmmss") from None
            stamp = local.timestamp()
            continue
        code, _, kind = key.partition("-")
        name = by_code.get(code)
        if name is None:
            continue
        if kind in ("Rtd", "Avg"):
            value = float(raw) if _DECIMAL.fullmatch(raw) else math.nan
            if not math.isfinite(value):
                raise FrameError(f"HJ 212 frame: {key}={raw!r} is not a number "
                                 f"(a finite decimal such as 12.5 or -0.75)")
            values[name] = value
        elif kind == "Flag":
            flags[name] = raw
    return stamp, values, flags


def _frame(cn: str, mn: str, pw: str, groups: Sequence[CpGroup], now: datetime | None) -> Frame:
    if not 1 <= len(mn) <= 24 or not mn.isalnum():
        raise FrameError(f"HJ 212 frame: MN {mn!r} must be 1-24 letters or digits")
    if len(pw) != 6:
        raise FrameError(f"HJ 212 frame: PW {pw!r} must be 6 characters")
    header = (("QN", qn(now or datetime.now(UTC))), ("ST", ST_GAS), ("CN", cn), ("PW", pw),
              ("MN", mn), ("Flag", str(FLAG_V2017)))
    return Frame(header, tuple(groups))
