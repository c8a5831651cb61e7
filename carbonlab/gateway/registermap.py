"""Register maps of CEMS analysers: data (YAML files), loaded into typed objects, with pure codecs.

Theory of operation. A map says where each channel (co2_pct, o2_pct, ...) lives in
one contiguous block of registers (input or holding), how it is encoded (IEEE 754
float32 high word first, float32 low word first, or 16-bit counts of a 4-20 mA loop),
where the status bits are in the discrete inputs, and which coils start a zero or a
span calibration. The poller reads the whole register block and the whole bit block
in two requests and calls `decode`; the emulated meter calls `encode` and
`encode_status` to fill its register bank. Both directions are pure functions of the
map: no I/O (STYLE 3), so they are tested table-driven and the emulator and the
gateway cannot disagree about a layout.

The built-in maps live in `carbonlab/gateway/maps/*.yaml`; docs/registermaps.md
describes them and names the manuals they follow.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from carbonlab import fields
from carbonlab.gateway.errors import ConfigError, FrameError
from carbonlab.gateway.sample import SampleStatus

CHANNELS = ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa")
# Optional channels (wire version 2). The map's key names the unit; values are decoded to
# (and encoded from) the canonical name, converting where the unit differs: a gas stays in the
# unit the map states (genesis must state the same), heat input is always MW thermal.
#   map key -> (canonical name, unit, factor: register value = canonical value * factor)
OPTIONAL_CHANNELS: dict[str, tuple[str, str, float]] = {
    "ch4_ppm": ("ch4", "ppm", 1.0), "ch4_mg_m3": ("ch4", "mg/m3", 1.0),
    "n2o_ppm": ("n2o", "ppm", 1.0), "n2o_mg_m3": ("n2o", "mg/m3", 1.0),
    "gross_mw": ("gross_mw", "MW", 1.0),
    "heat_input_mw": ("heat_input_mw", "MW", 1.0), "heat_input_gj_h": ("heat_input_mw", "GJ/h", 3.6),
}
GAS_CHANNELS = ("ch4", "n2o")
MAPS_DIR = Path(__file__).with_name("maps")
MAX_REGISTERS = 125  # one Modbus read (function 3 or 4) returns at most 125 registers
MAX_BITS = 2000      # one Modbus read (function 1 or 2) returns at most 2000 bits


class Encoding(StrEnum):
    FLOAT32 = "float32"              # IEEE 754 single, two registers per value
    COUNTS_4_20MA = "counts_4_20ma"  # one unsigned register: loop current as counts


class WordOrder(StrEnum):
    HIGH_FIRST = "high_first"  # ABCD: the Modbus convention, Teledyne T-series
    LOW_FIRST = "low_first"    # CDAB: "float inverse", Modicon / many DAS units


class RegisterTable(StrEnum):
    INPUT = "input"      # function 4
    HOLDING = "holding"  # function 3


class StatusBit(StrEnum):
    SYSTEM_OK = "system_ok"
    INVALID = "invalid"
    ZERO_CALIBRATION = "zero_calibration"
    SPAN_CALIBRATION = "span_calibration"
    MAINTENANCE = "maintenance"


class Coil(StrEnum):
    START_ZERO = "start_zero"
    START_SPAN = "start_span"


# NAMUR NE 43: a loop current under 3.8 mA or over 20.5 mA is a failure signal, not a value.
LOOP_FAIL_LOW_MA = 3.8
LOOP_FAIL_HIGH_MA = 20.5


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str    # canonical: co2_pct ... pressure_kpa, ch4, n2o, gross_mw, heat_input_mw
    address: int
    min: float   # engineering range of the analyser / the loop, in the register's unit
    max: float
    unit: str = ""      # an optional channel's unit as the map states it (ppm, mg/m3, MW, GJ/h)
    basis: str = ""     # a gas channel's basis: wet or dry
    factor: float = 1.0  # register value = canonical value * factor (GJ/h per MW: 3.6)

    @property
    def key(self) -> str:
        """The channel's key in a map file (`ch4_ppm`, `heat_input_gj_h`, `co2_pct`)."""
        for key, (name, unit, _) in OPTIONAL_CHANNELS.items():
            if name == self.name and unit == self.unit:
                return key
        return self.name


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one poll's registers and bits mean."""

    values: dict[str, float]
    status: SampleStatus
    detail: str = ""
    calibration: dict[str, float] = field(default_factory=dict)  # co2_slope, co2_offset when mapped


@dataclass(frozen=True, slots=True)
class StatusFlags:
    """The analyser's state as the emulator sets it; `encode_status` turns it into bits."""

    system_ok: bool = True
    invalid: bool = False
    zero_calibration: bool = False
    span_calibration: bool = False
    maintenance: bool = False


@dataclass(frozen=True, slots=True)
class MeterRegisterMap:
    name: str
    description: str
    source: str
    table: RegisterTable
    encoding: Encoding
    word_order: WordOrder
    channels: tuple[ChannelSpec, ...]
    status_bits: Mapping[StatusBit, int]
    coils: Mapping[Coil, int]
    calibration: Mapping[str, int] = field(default_factory=dict)  # co2_slope/co2_offset -> address
    counts_at_4ma: int = 6400
    counts_at_20ma: int = 32000
    # (first register, register count, first bit, bit count): worked out once, at construction,
    # because every poll reads them (each value's decode more than once)
    _layout: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        addresses = self._register_addresses()
        first = min(addresses, default=0)
        count = max(addresses, default=0) + self.words_per_value - first
        bits = list(self.status_bits.values())
        first_bit = min(bits, default=0)
        object.__setattr__(self, "_layout", (first, count, first_bit, max(bits, default=-1) - first_bit + 1))

    # -- layout ------------------------------------------------------------------------------------
    @property
    def words_per_value(self) -> int:
        return 2 if self.encoding is Encoding.FLOAT32 else 1

    @property
    def first_register(self) -> int:
        return self._layout[0]

    @property
    def register_count(self) -> int:
        return self._layout[1]

    @property
    def first_bit(self) -> int:
        return self._layout[2]

    @property
    def bit_count(self) -> int:
        return self._layout[3]

    def _register_addresses(self) -> list[int]:
        return [c.address for c in self.channels] + list(self.calibration.values())

    def channel(self, name: str) -> ChannelSpec:
        for spec in self.channels:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(spec.name == name for spec in self.channels)

    # -- codec -------------------------------------------------------------------------------------
    def encode(self, values: Mapping[str, float],
               calibration: Mapping[str, float] | None = None) -> list[int]:
        """Registers of the block [first_register, first_register + register_count).

        A channel missing from `values` encodes as NaN (float maps) or 0 counts (a dead loop).
        Counts are clamped to what a 16-bit register holds, as a real ADC saturates.
        """
        regs = [0] * self.register_count
        for spec in self.channels:
            value = values.get(spec.name)
            if value is not None and spec.factor != 1.0:
                value *= spec.factor
            self._put(regs, spec.address, self._encode_one(spec, value))
        for key, address in self.calibration.items():
            value = (calibration or {}).get(key, 1.0 if key.endswith("slope") else 0.0)
            self._put(regs, address, self._float_words(value))
        return regs

    def encode_status(self, flags: StatusFlags) -> list[bool]:
        bits = [False] * self.bit_count
        for bit, address in self.status_bits.items():
            bits[address - self.first_bit] = bool(getattr(flags, bit.value))
        return bits

    def decode(self, registers: Sequence[int], bits: Sequence[bool]) -> Decoded:
        """Values and status of one poll. Raises FrameError when the reply has the wrong size."""
        if len(registers) != self.register_count:
            raise FrameError(f"register map {self.name}: expected {self.register_count} registers, "
                             f"got {len(registers)}")
        if len(bits) < self.bit_count:
            raise FrameError(f"register map {self.name}: expected {self.bit_count} status bits, "
                             f"got {len(bits)}")
        flag = {bit: bool(bits[address - self.first_bit]) for bit, address in self.status_bits.items()}
        values: dict[str, float] = {}
        problems: list[str] = []
        over: list[str] = []
        for spec in self.channels:
            value, problem = self._decode_one(spec, registers)
            if problem:
                problems.append(f"{spec.name}: {problem}")
                continue
            values[spec.name] = value / spec.factor if spec.factor != 1.0 else value
            if not spec.min <= value <= spec.max:
                over.append(f"{spec.key}={value:g} outside [{spec.min:g}, {spec.max:g}]")
        calibration = {key: self._float_at(registers, address) for key, address in self.calibration.items()}
        status, detail = _judge(flag, problems, over)
        return Decoded(values=values, status=status, detail=detail, calibration=calibration)

    # -- helpers -----------------------------------------------------------------------------------
    def _put(self, regs: list[int], address: int, words: list[int]) -> None:
        at = address - self.first_register
        regs[at:at + len(words)] = words

    def _encode_one(self, spec: ChannelSpec, value: float | None) -> list[int]:
        if self.encoding is Encoding.FLOAT32:
            return self._float_words(math.nan if value is None else value)
        if value is None or math.isnan(value):
            return [0]
        span = self.counts_at_20ma - self.counts_at_4ma
        counts = self.counts_at_4ma + (value - spec.min) / (spec.max - spec.min) * span
        return [max(0, min(0xFFFF, round(counts)))]

    def _float_words(self, value: float) -> list[int]:
        hi, lo = struct.unpack(">HH", struct.pack(">f", value))
        return [hi, lo] if self.word_order is WordOrder.HIGH_FIRST else [lo, hi]

    def _float_at(self, registers: Sequence[int], address: int) -> float:
        at = address - self._layout[0]
        a, b = registers[at], registers[at + 1]
        hi, lo = (a, b) if self.word_order is WordOrder.HIGH_FIRST else (b, a)
        value: float = struct.unpack(">f", struct.pack(">HH", hi & 0xFFFF, lo & 0xFFFF))[0]
        return value

    def _decode_one(self, spec: ChannelSpec, registers: Sequence[int]) -> tuple[float, str]:
        if self.encoding is Encoding.FLOAT32:
            value = self._float_at(registers, spec.address)
            return (value, "") if math.isfinite(value) else (value, "not a finite number")
        counts = registers[spec.address - self.first_register]
        span = self.counts_at_20ma - self.counts_at_4ma
        current_ma = 4.0 + 16.0 * (counts - self.counts_at_4ma) / span
        if current_ma < LOOP_FAIL_LOW_MA:
            return math.nan, f"loop current {current_ma:.2f} mA below {LOOP_FAIL_LOW_MA} mA (broken loop)"
        if current_ma > LOOP_FAIL_HIGH_MA:
            return math.nan, f"loop current {current_ma:.2f} mA above {LOOP_FAIL_HIGH_MA} mA (failure signal)"
        return spec.min + (counts - self.counts_at_4ma) / span * (spec.max - spec.min), ""


def _judge(flag: Mapping[StatusBit, bool], problems: list[str], over: list[str]) -> tuple[SampleStatus, str]:
    """One status for the poll; the order follows what makes the data unusable first."""
    if flag.get(StatusBit.ZERO_CALIBRATION) or flag.get(StatusBit.SPAN_CALIBRATION):
        which = "zero" if flag.get(StatusBit.ZERO_CALIBRATION) else "span"
        return SampleStatus.CALIBRATING, f"analyser in {which} calibration"
    if flag.get(StatusBit.MAINTENANCE):
        return SampleStatus.MAINTENANCE, "analyser in maintenance"
    if flag.get(StatusBit.INVALID):
        return SampleStatus.INVALID, "analyser flags the concentration invalid"
    if StatusBit.SYSTEM_OK in flag and not flag[StatusBit.SYSTEM_OK]:
        return SampleStatus.INVALID, "analyser reports system not OK"
    if problems:
        return SampleStatus.INVALID, "; ".join(problems)
    if over:
        return SampleStatus.OVER_RANGE, "; ".join(over)
    return SampleStatus.OK, ""


# -- loading ---------------------------------------------------------------------------------------
def builtin_map_names() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.yaml"))


def load_register_map(name_or_path: str, base_dir: Path | None = None) -> MeterRegisterMap:
    """A built-in map by name (`t100`), or a YAML file (relative paths against `base_dir`)."""
    if name_or_path in builtin_map_names():
        path = MAPS_DIR / f"{name_or_path}.yaml"
    else:
        path = Path(name_or_path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.exists():
            raise ConfigError(f"register map {name_or_path!r}: neither a built-in map "
                              f"({', '.join(builtin_map_names())}) nor a YAML file that exists ({path})")
        kind = ("a directory" if path.is_dir() else None if path.is_file()
                else "not a regular file (a device or a FIFO)")
        if kind is None and path.suffix not in (".yaml", ".yml"):
            kind = "not a YAML file (its name ends neither in .yaml nor in .yml)"
        if kind is not None:
            raise ConfigError(f"{path}: cannot read register map: {kind}")
    try:
        text = fields.document_text(path, "register map")
    except fields.FieldError as exc:
        raise ConfigError(str(exc)) from None
    return _parsed(str(path), text)


@functools.lru_cache(maxsize=64)
def _parsed(path: str, text: str) -> MeterRegisterMap:
    """A map file's text parsed and validated once per process: a gateway or a meters process
    with thousands of meters on one map would otherwise parse the same YAML for each (about
    10 ms apiece). Keyed by the text, so an edited file is parsed again; the map is frozen.
    Read strictly (`fields.parse_document`): a key given twice or an alias bomb is refused."""
    try:
        raw = fields.parse_document(text, path, syntax="yaml")
    except fields.FieldError as exc:
        raise ConfigError(str(exc) if exc.field else f"{path}: cannot read register map: {exc.problem}") \
            from None
    return parse_register_map(raw, path)


def parse_register_map(raw: Any, where: str) -> MeterRegisterMap:
    """Validate a map given as parsed YAML; every error names `where`, the field and what is allowed."""
    from carbonlab.gateway.registermap_schema import parse  # here: that module imports this one

    return parse(raw, where)
