"""Which wire-version-2 channels a meter has, in genesis: gases with their unit, basis and
range, and the unit's gross load and heat input with their ranges.

Genesis JSON, in a meter entry (both keys optional; a meter without them reports CO2 only,
and its entry is written without them, so a genesis made before they existed keeps its
hash):

    "gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0, 500]},
              "n2o": {"unit": "mg/m3", "basis": "wet", "range": [0, 100]}},
    "load": {"gross_mw": [0, 700], "heat_input_mw": [0, 1800]}

A gas range is in the channel's unit; load ranges are the interval averages in MW
(electrical, and thermal for heat input). The contract holds each reading to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbonlab.node.emissions import ConcUnit, Gas
from carbonlab.node.errors import SchemaError
from carbonlab.node.schema import as_choice, as_dict, as_float, as_list

LOAD_KEYS = ("gross_mw", "heat_input_mw")


@dataclass(frozen=True, slots=True)
class GasChannel:
    unit: ConcUnit
    basis: str                      # "wet" or "dry"
    range: tuple[float, float]      # in `unit`


@dataclass(frozen=True, slots=True)
class LoadChannels:
    gross_mw: tuple[float, float] | None = None
    heat_input_mw: tuple[float, float] | None = None


def _range(value: Any, path: str) -> tuple[float, float]:
    pair = as_list(value, path, length=2)
    lo, hi = as_float(pair[0], f"{path}[0]"), as_float(pair[1], f"{path}[1]")
    if lo >= hi:
        raise SchemaError(path, f"lower bound {lo} is not below {hi}")
    if lo < 0:
        raise SchemaError(f"{path}[0]", f"{lo} is negative: no channel here reads below 0")
    return (lo, hi)


def gases_from_json(value: Any, path: str) -> dict[Gas, GasChannel]:
    obj = as_dict(value, path, allowed=tuple(g.value for g in Gas))
    out = {}
    for name, spec in obj.items():
        where = f"{path}.{name}"
        item = as_dict(spec, where, allowed=("unit", "basis", "range"),
                       required=("unit", "basis", "range"))
        out[Gas(name)] = GasChannel(
            unit=ConcUnit(as_choice(item["unit"], f"{where}.unit", [u.value for u in ConcUnit])),
            basis=as_choice(item["basis"], f"{where}.basis", ("wet", "dry")),
            range=_range(item["range"], f"{where}.range"))
    return out


def load_from_json(value: Any, path: str) -> LoadChannels:
    obj = as_dict(value, path, allowed=LOAD_KEYS)
    return LoadChannels(**{k: _range(v, f"{path}.{k}") for k, v in obj.items()})


def gases_json(gases: dict[Gas, GasChannel]) -> dict[str, Any]:
    return {g.value: {"unit": c.unit.value, "basis": c.basis, "range": list(c.range)}
            for g, c in sorted(gases.items())}


def load_json(load: LoadChannels) -> dict[str, Any]:
    return {k: list(v) for k in LOAD_KEYS if (v := getattr(load, k)) is not None}
