"""Readings and batches: what gateways sign and nodes order.

A `Reading` is one meter's averages over one interval; a `Batch` is a gateway's
signed list of readings. Both have one canonical wire form (arrays in the field
order below, see `codec`) and a JSON form for the HTTP API; `from_wire` and
`from_json` validate every field and name the one that is wrong.

Wire-format versions (docs/ledger.md, "Reading wire format"). Version 1 is the 15-item
array every reading had from the start (16 items when `co2_method` is not `density`).
Version 2 carries the channels added later (CH4, N2O, gross load, heat input) and starts
with the integer 2, where version 1 starts with the meter id (a string), so the first
item tells the decoder which form it holds. A reading without any of the new channels is
always written in version 1 (and a version-2 array without them is refused as
non-canonical), so every reading, batch, block and ledger written before version 2
keeps its bytes and its hashes.

The gateway signs `Batch.signing_bytes()`: the chain id, gateway id, batch
sequence number and the Merkle root over the readings' canonical encodings, so
one reading can later be proven with its Merkle path, the batch header and the
gateway's signature, without the rest of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from carbonlab.node import codec, merkle
from carbonlab.node.crypto import SIGNATURE_BYTES, Signer
from carbonlab.node.emissions import Co2Method, ConcUnit
from carbonlab.node.errors import SchemaError
from carbonlab.node.schema import (
    as_bool,
    as_choice,
    as_dict,
    as_float,
    as_hex,
    as_int,
    as_list,
    as_str,
)

MAX_READINGS_PER_BATCH = 1000
MAX_BATCH_BYTES = 512 * 1024
BATCH_MEDIA_TYPE = "application/vnd.carbonlab.batch+msgpack"
"""The API's media type for a batch sent as its canonical bytes (what its gateway signed and
every member orders), taken as they are: no JSON to parse and nothing re-encoded."""
MAX_ID_LEN = 64


class DataFlag(StrEnum):
    """HJ 212-2017 data flags."""

    NORMAL = "N"
    STOPPED = "F"
    MAINTENANCE = "M"
    MANUAL = "S"
    FAULT = "D"
    CALIBRATION = "C"
    OVER_RANGE = "T"
    COMM_FAULT = "B"


class Basis(StrEnum):
    WET = "wet"
    DRY = "dry"


WIRE_V2 = 2
GAS_FIELDS = ("conc", "unit", "basis", "kg")   # one gas group: [conc, unit, basis, kg] or None


READING_FIELDS = (
    "meter_id", "seq", "interval_start", "interval_s", "co2_pct", "co2_basis", "o2_pct",
    "h2o_pct", "flow_m3_s", "temp_c", "pressure_kpa", "valid_samples", "flag", "co2_kg",
    "substituted", "co2_method",
)
# version 2 appends these (a gas is one [conc, unit, basis, kg] item, or None)
V2_FIELDS = ("ch4", "n2o", "gross_mwh", "heat_input_gj")
# the JSON form's keys for the version-2 channels, null when the meter has no such channel
JSON_V2_FIELDS = ("ch4_conc", "ch4_unit", "ch4_basis", "ch4_kg", "n2o_conc", "n2o_unit",
                  "n2o_basis", "n2o_kg", "gross_mwh", "heat_input_gj")


@dataclass(frozen=True, slots=True)
class Reading:
    """One meter, one interval. `flow_m3_s` is the actual (stack conditions, wet) volumetric flow."""

    meter_id: str
    seq: int
    interval_start: int  # unix seconds, UTC, aligned to interval_s
    interval_s: int
    co2_pct: float
    co2_basis: Basis
    o2_pct: float
    h2o_pct: float
    flow_m3_s: float
    temp_c: float
    pressure_kpa: float
    valid_samples: int
    flag: DataFlag
    co2_kg: float
    substituted: bool = False
    co2_method: Co2Method = Co2Method.DENSITY
    # Channels of wire version 2; None where the meter has no such channel. A gas's four
    # fields are all set or all None: its interval mass (kg, by the same flow path as CO2,
    # `emissions.gas_mass_kg`) and the concentration it was computed from, with its unit and
    # basis, so that the contract and anyone holding the reading can recompute it.
    ch4_kg: float | None = None
    n2o_kg: float | None = None
    gross_mwh: float | None = None       # gross electrical output over the interval
    heat_input_gj: float | None = None   # heat input over the interval
    ch4_conc: float | None = None
    ch4_unit: ConcUnit | None = None
    ch4_basis: Basis | None = None
    n2o_conc: float | None = None
    n2o_unit: ConcUnit | None = None
    n2o_basis: Basis | None = None

    @property
    def wire_version(self) -> int:
        return 1 if (self.ch4_kg is None and self.n2o_kg is None and self.gross_mwh is None
                     and self.heat_input_gj is None and self.ch4_conc is None
                     and self.n2o_conc is None) else WIRE_V2

    def to_wire(self) -> list[Any]:
        if self.wire_version == WIRE_V2:
            return self._to_wire_v2()
        # StrEnum members are str: msgpack and json write them as their value.
        wire = [
            self.meter_id, self.seq, self.interval_start, self.interval_s, float(self.co2_pct),
            str(self.co2_basis), float(self.o2_pct), float(self.h2o_pct), float(self.flow_m3_s),
            float(self.temp_c), float(self.pressure_kpa), self.valid_samples, str(self.flag),
            float(self.co2_kg), self.substituted,
        ]
        # A `density` reading keeps the 15 fields every reading had before the choice existed,
        # so the hashes and signatures of existing ledgers stay what they were; only another
        # method is written, as a 16th field (and a 16th field saying `density` is refused).
        if self.co2_method is not Co2Method.DENSITY:
            wire.append(str(self.co2_method))
        return wire

    def _to_wire_v2(self) -> list[Any]:
        return [
            WIRE_V2, self.meter_id, self.seq, self.interval_start, self.interval_s,
            float(self.co2_pct), str(self.co2_basis), float(self.o2_pct), float(self.h2o_pct),
            float(self.flow_m3_s), float(self.temp_c), float(self.pressure_kpa),
            self.valid_samples, str(self.flag), float(self.co2_kg), self.substituted,
            str(self.co2_method),
            _gas_wire("ch4", self.ch4_conc, self.ch4_unit, self.ch4_basis, self.ch4_kg),
            _gas_wire("n2o", self.n2o_conc, self.n2o_unit, self.n2o_basis, self.n2o_kg),
            None if self.gross_mwh is None else float(self.gross_mwh),
            None if self.heat_input_gj is None else float(self.heat_input_gj),
        ]

    def encode(self) -> bytes:
        return codec.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any, path: str = "reading") -> Reading:
        fast = _from_wire_fast(value)
        if fast is not None:
            return fast
        if type(value) is list and value and type(value[0]) is int:
            return _from_wire_v2(value, path)
        # Slow path: the same checks one field at a time, to name the field that is wrong.
        items = as_list(value, path)
        if len(items) not in (len(READING_FIELDS) - 1, len(READING_FIELDS)):
            raise SchemaError(path, f"expected {len(READING_FIELDS) - 1} items (or "
                                    f"{len(READING_FIELDS)} with co2_method), got {len(items)}")
        obj = dict(zip(READING_FIELDS, items, strict=False))
        if "co2_method" in obj and obj["co2_method"] == Co2Method.DENSITY.value:
            raise SchemaError(f"{path}.co2_method", "'density' is the default and is written by "
                                                    "leaving the field out (canonical form)")
        return cls._build(obj, path)

    def to_json(self) -> dict[str, Any]:
        v1 = self if self.wire_version == 1 else _without_v2(self)
        return {**dict(zip(READING_FIELDS, v1.to_wire(), strict=False)),
                "co2_method": self.co2_method.value,
                **{name: _json_value(getattr(self, name)) for name in JSON_V2_FIELDS}}

    @classmethod
    def from_json(cls, value: Any, path: str = "reading") -> Reading:
        optional = ("substituted", "co2_method")
        obj = as_dict(value, path, allowed=(*READING_FIELDS, *JSON_V2_FIELDS),
                      required=[f for f in READING_FIELDS if f not in optional])
        obj = {"substituted": False, **obj}
        for gas in ("ch4", "n2o"):
            names = [f"{gas}_{k}" for k in GAS_FIELDS]
            values = [obj.get(n) for n in names]
            obj[gas] = None if all(v is None for v in values) else values
        return cls._build(obj, path)

    @classmethod
    def _build(cls, obj: dict[str, Any], path: str) -> Reading:
        return cls(
            meter_id=as_str(obj["meter_id"], f"{path}.meter_id", max_len=MAX_ID_LEN),
            seq=as_int(obj["seq"], f"{path}.seq", lo=0, hi=2**62),
            interval_start=as_int(obj["interval_start"], f"{path}.interval_start", lo=0, hi=2**40),
            interval_s=as_int(obj["interval_s"], f"{path}.interval_s", lo=1, hi=86_400),
            co2_pct=as_float(obj["co2_pct"], f"{path}.co2_pct"),
            co2_basis=_BASIS[as_choice(obj["co2_basis"], f"{path}.co2_basis", _BASIS_VALUES)],
            o2_pct=as_float(obj["o2_pct"], f"{path}.o2_pct"),
            h2o_pct=as_float(obj["h2o_pct"], f"{path}.h2o_pct"),
            flow_m3_s=as_float(obj["flow_m3_s"], f"{path}.flow_m3_s"),
            temp_c=as_float(obj["temp_c"], f"{path}.temp_c"),
            pressure_kpa=as_float(obj["pressure_kpa"], f"{path}.pressure_kpa"),
            valid_samples=as_int(obj["valid_samples"], f"{path}.valid_samples", lo=0, hi=86_400),
            flag=_FLAGS[as_choice(obj["flag"], f"{path}.flag", _FLAG_VALUES)],
            co2_kg=as_float(obj["co2_kg"], f"{path}.co2_kg"),
            substituted=as_bool(obj["substituted"], f"{path}.substituted"),
            co2_method=_METHODS[as_choice(obj.get("co2_method", Co2Method.DENSITY.value),
                                          f"{path}.co2_method", _METHOD_VALUES)],
            **_gas_fields("ch4", obj.get("ch4"), path),
            **_gas_fields("n2o", obj.get("n2o"), path),
            gross_mwh=_opt_float(obj.get("gross_mwh"), f"{path}.gross_mwh"),
            heat_input_gj=_opt_float(obj.get("heat_input_gj"), f"{path}.heat_input_gj"),
        )


_BASIS = {b.value: b for b in Basis}
_BASIS_VALUES = tuple(_BASIS)
_FLAGS = {f.value: f for f in DataFlag}
_FLAG_VALUES = tuple(_FLAGS)
_METHODS = {m.value: m for m in Co2Method}
_METHOD_VALUES = tuple(_METHODS)
_UNITS = {u.value: u for u in ConcUnit}
_UNIT_VALUES = tuple(_UNITS)
_MAX_SEQ = 2**62
_MAX_TIME = 2**40


def _from_wire_fast(v: Any) -> Reading | None:
    """The common case of `Reading.from_wire` in one expression; None sends it to the slow path.

    It accepts exactly what the slow path accepts from canonical wire data (floats are
    always float64 there) and is about five times faster: decoding readings is the
    node's hot path.
    """
    if type(v) is not list or len(v) != 15:   # 16 (a co2_method other than density): slow path
        return _from_wire_fast_v2(v) if type(v) is list and len(v) == 21 else None
    m, seq, start, ival, co2, basis, o2, h2o, flow, temp, pres, valid, flag, kg, sub = v
    if not (
        type(m) is str and 0 < len(m) <= MAX_ID_LEN
        and type(seq) is int and 0 <= seq <= _MAX_SEQ
        and type(start) is int and 0 <= start <= _MAX_TIME
        and type(ival) is int and 1 <= ival <= 86_400
        and type(valid) is int and 0 <= valid <= 86_400
        and type(co2) is float and type(o2) is float and type(h2o) is float
        and type(flow) is float and type(temp) is float and type(pres) is float
        and type(kg) is float and type(sub) is bool
        # x - x is 0.0 for every finite float and nan for inf and nan
        and co2 - co2 == 0.0 and o2 - o2 == 0.0 and h2o - h2o == 0.0 and flow - flow == 0.0
        and temp - temp == 0.0 and pres - pres == 0.0 and kg - kg == 0.0
    ):
        return None
    b = _BASIS.get(basis) if type(basis) is str else None
    fl = _FLAGS.get(flag) if type(flag) is str else None
    if b is None or fl is None:
        return None
    return _assemble(m, seq, start, ival, co2, b, o2, h2o, flow, temp, pres, valid, fl, kg, sub,
                     _DENSITY, None, None, None, None, None, None, None, None, None, None)


def _gas_wire(gas: str, conc: float | None, unit: ConcUnit | None, basis: Basis | None,
              kg: float | None) -> list[Any] | None:
    parts = (conc, unit, basis, kg)
    if all(p is None for p in parts):
        return None
    if any(p is None for p in parts):
        missing = [f"{gas}_{k}" for k, p in zip(GAS_FIELDS, parts, strict=True) if p is None]
        raise SchemaError(f"reading.{missing[0]}", f"a {gas} channel needs {gas}_conc, "
                                                   f"{gas}_unit, {gas}_basis and {gas}_kg together")
    return [float(conc), str(unit), str(basis), float(kg)]  # type: ignore[arg-type]


def _gas_fields(gas: str, value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    conc, unit, basis, kg = as_list(value, f"{path}.{gas}", length=4)
    return {f"{gas}_conc": as_float(conc, f"{path}.{gas}_conc"),
            f"{gas}_unit": _UNITS[as_choice(unit, f"{path}.{gas}_unit", _UNIT_VALUES)],
            f"{gas}_basis": _BASIS[as_choice(basis, f"{path}.{gas}_basis", _BASIS_VALUES)],
            f"{gas}_kg": as_float(kg, f"{path}.{gas}_kg")}


def _opt_float(value: Any, path: str) -> float | None:
    return None if value is None else as_float(value, path)


def _json_value(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def _without_v2(r: Reading) -> Reading:
    return Reading(r.meter_id, r.seq, r.interval_start, r.interval_s, r.co2_pct, r.co2_basis,
                   r.o2_pct, r.h2o_pct, r.flow_m3_s, r.temp_c, r.pressure_kpa, r.valid_samples,
                   r.flag, r.co2_kg, r.substituted, r.co2_method)


def _from_wire_v2(value: list[Any], path: str) -> Reading:
    """Version 2, field by field (`_from_wire_fast_v2` takes the common case first)."""
    if value[0] != WIRE_V2:
        raise SchemaError(f"{path}[0]", f"wire version {value[0]} is not known (1 or {WIRE_V2})")
    names = ("version", *READING_FIELDS, *V2_FIELDS)
    if len(value) != len(names):
        raise SchemaError(path, f"a version-{WIRE_V2} reading has {len(names)} items, "
                                f"got {len(value)}")
    obj = dict(zip(names, value, strict=True))
    if all(obj[name] is None for name in V2_FIELDS):
        raise SchemaError(path, f"a reading without {', '.join(V2_FIELDS)} is written in "
                                "version 1 (canonical form)")
    return Reading._build(obj, path)


def _from_wire_fast_v2(v: list[Any]) -> Reading | None:
    """The common case of a version-2 reading: the version-1 fast check on items 1..15,
    then the four new items; None sends it to the field-by-field path."""
    if len(v) != 21 or v[0] != WIRE_V2 or type(v[16]) is not str:
        return None
    base = _from_wire_fast(v[1:16])
    method = _METHODS.get(v[16])
    if base is None or method is None:
        return None
    ch4, n2o, mwh, gj = v[17], v[18], v[19], v[20]
    if ch4 is None and n2o is None and mwh is None and gj is None:
        return None
    if not ((mwh is None or (type(mwh) is float and mwh - mwh == 0.0))
            and (gj is None or (type(gj) is float and gj - gj == 0.0))):
        return None
    g1 = _gas_fast(ch4)
    g2 = _gas_fast(n2o)
    if g1 is None or g2 is None:
        return None
    # `base` is new and not yet shared: fill in the version-2 slots (see `_assemble`)
    _s15(base, method), _s16(base, g1[3]), _s17(base, g2[3]), _s18(base, mwh), _s19(base, gj)
    _s20(base, g1[0]), _s21(base, g1[1]), _s22(base, g1[2])
    _s23(base, g2[0]), _s24(base, g2[1]), _s25(base, g2[2])
    return base


# The fast paths fill a Reading's slots through their descriptors: about twice as fast as the
# frozen dataclass's __init__ (one object.__setattr__ call per field), which matters at 26
# fields on the node's hot path. Only for values the fast paths have already checked.
_NEW = object.__new__
_DENSITY = Co2Method.DENSITY
(_s0, _s1, _s2, _s3, _s4, _s5, _s6, _s7, _s8, _s9, _s10, _s11, _s12, _s13, _s14, _s15, _s16, _s17,
 _s18, _s19, _s20, _s21, _s22, _s23, _s24, _s25) = (
    getattr(Reading, name).__set__ for name in Reading.__dataclass_fields__)


def _assemble(m: Any, seq: Any, start: Any, ival: Any, co2: Any, basis: Any, o2: Any, h2o: Any,
              flow: Any, temp: Any, pres: Any, valid: Any, flag: Any, kg: Any, sub: Any,
              method: Any, ch4_kg: Any, n2o_kg: Any, mwh: Any, gj: Any, ch4_conc: Any,
              ch4_unit: Any, ch4_basis: Any, n2o_conc: Any, n2o_unit: Any,
              n2o_basis: Any) -> Reading:
    r: Reading = _NEW(Reading)
    _s0(r, m), _s1(r, seq), _s2(r, start), _s3(r, ival), _s4(r, co2), _s5(r, basis), _s6(r, o2)
    _s7(r, h2o), _s8(r, flow), _s9(r, temp), _s10(r, pres), _s11(r, valid), _s12(r, flag)
    _s13(r, kg), _s14(r, sub), _s15(r, method), _s16(r, ch4_kg), _s17(r, n2o_kg), _s18(r, mwh)
    _s19(r, gj), _s20(r, ch4_conc), _s21(r, ch4_unit), _s22(r, ch4_basis), _s23(r, n2o_conc)
    _s24(r, n2o_unit), _s25(r, n2o_basis)
    return r


_NO_GAS: tuple[None, None, None, None] = (None, None, None, None)


def _gas_fast(g: Any) -> tuple[Any, Any, Any, Any] | None:
    if g is None:
        return _NO_GAS
    if type(g) is not list or len(g) != 4:
        return None
    conc, unit, basis, kg = g
    if not (type(conc) is float and type(kg) is float and conc - conc == 0.0 and kg - kg == 0.0
            and type(unit) is str and type(basis) is str):
        return None
    u, b = _UNITS.get(unit), _BASIS.get(basis)
    if u is None or b is None:
        return None
    return (conc, u, b, kg)


def readings_root(readings: tuple[Reading, ...]) -> bytes:
    return merkle.root([r.encode() for r in readings])


def _array_header(n: int) -> bytes:
    """msgpack's shortest array header for `n` items (what `codec.encode` writes)."""
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _canonical_parts(value: Any, buf: bytes) -> list[bytes] | None:
    """The canonical encoding of each reading of a decoded batch `value`, when `buf` is exactly
    the canonical encoding of `value` (a list's encoding is its header and its items' encodings,
    so this is `codec.decode`'s re-encode check done piece by piece); None when `value` is not
    shaped like a batch, and the caller checks the whole."""
    if type(value) is not list or len(value) != 5 or type(value[3]) is not list:
        return None
    enc = codec.encoder()
    parts = [enc(r) for r in value[3]]
    whole = b"".join((b"\x95", enc(value[0]), enc(value[1]), enc(value[2]),
                      _array_header(len(parts)), *parts, enc(value[4])))
    if whole != buf:
        raise SchemaError("batch", "not in canonical encoding")
    return parts


@dataclass(frozen=True, slots=True)
class Batch:
    """A gateway's signed list of readings. `(gateway_id, batch_seq)` identifies it."""

    chain_id: str
    gateway_id: str
    batch_seq: int
    readings: tuple[Reading, ...]
    signature: bytes = b""
    _encoded: list[bytes] = field(default_factory=list, compare=False, repr=False)
    # the readings' canonical encodings (the Merkle leaves), kept from decoding
    _leaves: list[list[bytes]] = field(default_factory=list, init=False, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.gateway_id, self.batch_seq)

    def header(self) -> list[Any]:
        """What the gateway signs; with a Merkle path it proves any one reading."""
        root = merkle.root(self._leaves[0]) if self._leaves else readings_root(self.readings)
        return ["carbonlab/batch/1", self.chain_id, self.gateway_id, self.batch_seq,
                len(self.readings), root]

    def signing_bytes(self) -> bytes:
        return codec.encode(self.header())

    def signed(self, signer: Signer) -> Batch:
        return Batch(self.chain_id, self.gateway_id, self.batch_seq, self.readings,
                     signer.sign(self.signing_bytes()))

    def to_wire(self) -> list[Any]:
        return [self.chain_id, self.gateway_id, self.batch_seq,
                [r.to_wire() for r in self.readings], self.signature]

    def encode(self) -> bytes:
        """Canonical bytes; cached because a batch is hashed at every node several times."""
        if not self._encoded:
            self._encoded.append(codec.encode(self.to_wire()))
        return self._encoded[0]

    @classmethod
    def decode(cls, buf: bytes) -> Batch:
        """From canonical bytes; the same checks, in the same order, as `codec.decode` and then
        `from_wire`, so every rejection names what it always named. The hot path (every node
        decodes every batch): the canonical check yields each reading's encoding, kept as its
        Merkle leaf, so signing bytes need no re-encoding."""
        buf = bytes(buf)
        value = codec.decode(buf, "batch", max_bytes=MAX_BATCH_BYTES, check=False)
        parts = _canonical_parts(value, buf)
        if parts is None:
            codec.check_canonical(value, buf, "batch")
            batch = cls.from_wire(value)
        else:
            batch = cls._from_parts(value, parts)
        batch._encoded.append(buf)
        return batch

    @classmethod
    def _from_parts(cls, items: list[Any], parts: list[bytes]) -> Batch:
        """`from_wire` for a canonical batch whose readings' encodings are `parts`: a reading
        the fast decoder takes round-trips to exactly its wire bytes, which are then its leaf;
        any other is decoded field by field (naming the field) and re-encoded."""
        path = "batch"
        readings_wire = as_list(items[3], f"{path}.readings", max_len=MAX_READINGS_PER_BATCH)
        sig = items[4]
        if not isinstance(sig, bytes) or len(sig) != SIGNATURE_BYTES:
            raise SchemaError(f"{path}.signature", f"expected {SIGNATURE_BYTES} bytes")
        chain_id = as_str(items[0], f"{path}.chain_id", max_len=MAX_ID_LEN)
        gateway_id = as_str(items[1], f"{path}.gateway_id", max_len=MAX_ID_LEN)
        batch_seq = as_int(items[2], f"{path}.batch_seq", lo=0, hi=2**62)
        readings = []
        leaves = []
        for i, (wire, part) in enumerate(zip(readings_wire, parts, strict=True)):
            reading = _from_wire_fast(wire)
            if reading is None:
                reading = Reading.from_wire(wire, f"{path}.readings[{i}]")
                part = reading.encode()
            readings.append(reading)
            leaves.append(part)
        batch = cls(chain_id, gateway_id, batch_seq, tuple(readings), sig)
        batch._leaves.append(leaves)
        return batch

    @classmethod
    def from_wire(cls, value: Any, path: str = "batch") -> Batch:
        items = as_list(value, path, length=5)
        readings = as_list(items[3], f"{path}.readings", max_len=MAX_READINGS_PER_BATCH)
        sig = items[4]
        if not isinstance(sig, bytes) or len(sig) != SIGNATURE_BYTES:
            from carbonlab.node.errors import SchemaError

            raise SchemaError(f"{path}.signature", f"expected {SIGNATURE_BYTES} bytes")
        return cls(
            chain_id=as_str(items[0], f"{path}.chain_id", max_len=MAX_ID_LEN),
            gateway_id=as_str(items[1], f"{path}.gateway_id", max_len=MAX_ID_LEN),
            batch_seq=as_int(items[2], f"{path}.batch_seq", lo=0, hi=2**62),
            readings=tuple(Reading.from_wire(r, f"{path}.readings[{i}]")
                           for i, r in enumerate(readings)),
            signature=sig,
        )

    def to_json(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "gateway_id": self.gateway_id,
                "batch_seq": self.batch_seq, "readings": [r.to_json() for r in self.readings],
                "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: Any, path: str = "batch") -> Batch:
        obj = as_dict(value, path, allowed=("chain_id", "gateway_id", "batch_seq", "readings",
                                            "signature"),
                      required=("chain_id", "gateway_id", "batch_seq", "readings", "signature"))
        readings = as_list(obj["readings"], f"{path}.readings", max_len=MAX_READINGS_PER_BATCH)
        return cls(
            chain_id=as_str(obj["chain_id"], f"{path}.chain_id", max_len=MAX_ID_LEN),
            gateway_id=as_str(obj["gateway_id"], f"{path}.gateway_id", max_len=MAX_ID_LEN),
            batch_seq=as_int(obj["batch_seq"], f"{path}.batch_seq", lo=0, hi=2**62),
            readings=tuple(Reading.from_json(r, f"{path}.readings[{i}]")
                           for i, r in enumerate(readings)),
            signature=as_hex(obj["signature"], f"{path}.signature", size=SIGNATURE_BYTES),
        )
