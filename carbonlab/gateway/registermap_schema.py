"""Validation of register map files: raw YAML in, `MeterRegisterMap` out, or a ConfigError naming
the file, the field and the values allowed. Nothing past this module re-checks a map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from carbonlab.checks import finite, shown
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.registermap import (
    CHANNELS,
    GAS_CHANNELS,
    MAX_BITS,
    MAX_REGISTERS,
    OPTIONAL_CHANNELS,
    ChannelSpec,
    Coil,
    Encoding,
    MeterRegisterMap,
    RegisterTable,
    StatusBit,
    WordOrder,
)

TOP_FIELDS = {"name", "description", "source", "table", "encoding", "word_order", "channels",
              "calibration", "discrete_inputs", "coils", "counts"}
CALIBRATION_KEYS = ("co2_slope", "co2_offset")
E = TypeVar("E", StatusBit, Coil, Encoding, WordOrder, RegisterTable)


def _fail(where: str, fld: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}: field {fld!r}: {problem}")


def _mapping(raw: Any, where: str, fld: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(where, fld, f"must be a mapping, got {type(raw).__name__}")
    return raw


def _address(raw: Any, where: str, fld: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 65535:
        raise _fail(where, fld, f"must be an integer address 0..65535, got {shown(raw)}")
    return raw


def _number(raw: Any, where: str, fld: str) -> float:
    value = finite(raw)        # an int too large for a float too (float() raised OverflowError)
    if value is None:
        raise _fail(where, fld, f"must be a finite number, got {shown(raw)}")
    return value


def _enum(cls: type[E], raw: Any, where: str, fld: str) -> E:
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise _fail(where, fld, f"must be one of {allowed}; got {shown(raw)}") from None


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise _fail(where, key, f"must be a string, got {shown(value)}")
    return value


def _keyed_addresses(cls: type[E], raw: Any, where: str, fld: str, required: tuple[E, ...]) -> dict[E, int]:
    table = _mapping(raw, where, fld)
    out = {_enum(cls, key, where, f"{fld}.{key}"): _address(v, where, f"{fld}.{key}")
           for key, v in table.items()}
    for need in required:
        if need not in out:
            raise _fail(where, f"{fld}.{need.value}", "is required")
    seen: dict[int, str] = {}
    for key, address in out.items():
        if address in seen:
            raise _fail(where, f"{fld}.{key.value}", f"address {address} already used by {seen[address]}")
        seen[address] = key.value
    return out


def _channels(raw: Any, where: str) -> tuple[ChannelSpec, ...]:
    table = _mapping(raw, where, "channels")
    specs = []
    canonical: dict[str, str] = {}
    for name, body in table.items():
        fld = f"channels.{name}"
        if name not in CHANNELS and name not in OPTIONAL_CHANNELS:
            allowed = ", ".join((*CHANNELS, *OPTIONAL_CHANNELS))
            raise _fail(where, fld, f"unknown channel; allowed: {allowed}")
        body = _mapping(body, where, fld)
        target, unit, factor = OPTIONAL_CHANNELS.get(name, (name, "", 1.0))
        gas = target in GAS_CHANNELS
        fields = ("address", "min", "max", "basis") if gas else ("address", "min", "max")
        extra = set(body) - set(fields)
        if extra:
            raise _fail(where, f"{fld}.{sorted(extra)[0]}", f"unknown field; allowed: {', '.join(fields)}")
        for key in fields:
            if key not in body:
                why = " (a gas channel states whether it reads wet or dry gas)" if key == "basis" else ""
                raise _fail(where, f"{fld}.{key}", f"is required{why}")
        if target in canonical:
            raise _fail(where, fld, f"{canonical[target]} already maps {target}; a map has one "
                                    f"{target} channel")
        canonical[target] = name
        basis = ""
        if gas:
            basis = body["basis"]
            if basis not in ("wet", "dry"):
                raise _fail(where, f"{fld}.basis", f"must be one of wet, dry; got {shown(basis)}")
        lo, hi = _number(body["min"], where, f"{fld}.min"), _number(body["max"], where, f"{fld}.max")
        if not lo < hi:
            raise _fail(where, f"{fld}.max", f"must be greater than min ({lo:g}), got {hi:g}")
        specs.append(ChannelSpec(target, _address(body["address"], where, f"{fld}.address"), lo, hi,
                                 unit, basis, factor))
    if "co2_pct" not in table:
        raise _fail(where, "channels.co2_pct", "is required")
    return tuple(specs)


def _check_layout(m: MeterRegisterMap, where: str) -> None:
    width = m.words_per_value
    used: dict[int, str] = {}
    cells = [(c.name, c.address) for c in m.channels] + list(m.calibration.items())
    for name, address in cells:
        for a in range(address, address + width):
            if a in used:
                raise _fail(where, name, f"register {a} overlaps {used[a]}")
            used[a] = name
    if m.register_count > MAX_REGISTERS:
        raise _fail(where, "channels", f"the registers span {m.register_count} addresses; one Modbus read "
                                       f"returns at most {MAX_REGISTERS}")
    if m.bit_count > MAX_BITS:
        raise _fail(where, "discrete_inputs", f"the bits span {m.bit_count}; at most {MAX_BITS}")


def parse(raw: Any, where: str) -> MeterRegisterMap:
    top = _mapping(raw, where, "<top level>")
    for key in top:
        if key not in TOP_FIELDS:
            raise _fail(where, str(key), f"unknown field; allowed: {', '.join(sorted(TOP_FIELDS))}")
    for key in ("name", "table", "encoding", "channels", "discrete_inputs", "coils"):
        if key not in top:
            raise _fail(where, key, "is required")
    encoding = _enum(Encoding, top["encoding"], where, "encoding")
    if encoding is Encoding.COUNTS_4_20MA and "word_order" in top:
        # one register per value: there is no word order, and a map that gives one was written
        # for another device
        raise _fail(where, "word_order", "applies to float32 maps only; a counts_4_20ma map "
                                         "has one register per value, remove the field")
    word_order = _enum(WordOrder, top.get("word_order", "high_first"), where, "word_order")
    calibration: dict[str, int] = {}
    if "calibration" in top:
        if encoding is not Encoding.FLOAT32:
            raise _fail(where, "calibration", "only float32 maps carry slope/offset registers")
        cal = _mapping(top["calibration"], where, "calibration")
        for key, value in cal.items():
            if key not in CALIBRATION_KEYS:
                raise _fail(where, f"calibration.{key}", f"unknown; allowed: {', '.join(CALIBRATION_KEYS)}")
            calibration[key] = _address(value, where, f"calibration.{key}")
    if encoding is Encoding.FLOAT32 and "counts" in top:
        raise _fail(where, "counts", "applies to counts_4_20ma maps only; a float32 map carries "
                                     "engineering values, remove the field")
    counts = _mapping(top.get("counts", {"at_4ma": 6400, "at_20ma": 32000}), where, "counts")
    at_4 = _address(counts.get("at_4ma"), where, "counts.at_4ma")
    at_20 = _address(counts.get("at_20ma"), where, "counts.at_20ma")
    if not at_4 < at_20:
        raise _fail(where, "counts.at_20ma", f"must be greater than at_4ma ({at_4}), got {at_20}")
    regmap = MeterRegisterMap(
        name=_text(top, "name", where) or where,
        description=_text(top, "description", where),
        source=_text(top, "source", where),
        table=_enum(RegisterTable, top["table"], where, "table"),
        encoding=encoding,
        word_order=word_order,
        channels=_channels(top["channels"], where),
        status_bits=_keyed_addresses(StatusBit, top["discrete_inputs"], where, "discrete_inputs",
                                     (StatusBit.SYSTEM_OK, StatusBit.INVALID)),
        coils=_keyed_addresses(Coil, top["coils"], where, "coils", (Coil.START_ZERO, Coil.START_SPAN)),
        calibration=calibration,
        counts_at_4ma=at_4,
        counts_at_20ma=at_20,
    )
    _check_layout(regmap, where)
    return regmap
