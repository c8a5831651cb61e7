"""Readers for the planner's files: units (JSON), demand (CSV), interval readings (CSV).

Each reader validates once and returns typed values; an error names the file, the row or
unit, and the field. Formats (docs/planning.md shows examples):

- units JSON: `{"units": [{"unit", "capacity_mw", "min_mw", "ramp_mw_per_h", "fuel",
  "fuel_cost_per_mwh", "no_load_cost_per_h", "startup_cost", "initial_mw", "curve": {"a", "b", "c"},
  "options": {"fixed_cost_per_year", "retire_cost", "retrofit_cost", "retrofit_cut",
  "availability"}}]}`; `curve` may be left out when readings are given to fit it;
- demand CSV: `hour,demand_mw` (hours 0..n-1 in order) or, for a pathway, `year,demand_mwh`;
- readings CSV: `unit,interval_s,co2_kg,mwh` per interval (what the ledger's readings give).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carbonlab import jsonfile
from carbonlab.apps.csvfile import rows as csv_rows
from carbonlab.apps.errors import InputError
from carbonlab.apps.planning.pathway import UnitOptions
from carbonlab.apps.planning.units import IntensityCurve, IntervalPoint, UnitLimits, UnitModel, fit_curve
from carbonlab.boundedread import TooLargeError, read_limited
from carbonlab.checks import finite, shown
from carbonlab.jsonfile import JsonFileError

MAX_UNITS_FILE_BYTES = 16 * 1024 * 1024   # a units JSON of thousands of units is far smaller
UNIT_KEYS = frozenset({"unit", "capacity_mw", "min_mw", "ramp_mw_per_h", "fuel", "fuel_cost_per_mwh",
                       "no_load_cost_per_h", "startup_cost", "initial_mw", "curve", "options"})


def _num(where: str, raw: Any, *, lo: float = 0.0) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError(where, f"must be a number, got {shown(raw)}")
    try:
        value = finite(float(raw) if isinstance(raw, str) else raw)   # an int too large for a float too
    except ValueError:
        raise InputError(where, f"must be a number, got {shown(raw)}") from None
    if value is None or value < lo:
        at_least = f" >= {lo:g}" if math.isfinite(lo) else ""     # never "a finite number >= -inf"
        raise InputError(where, f"must be a finite number{at_least}, got {shown(raw)}")
    return value



def read_readings(path: Path) -> dict[str, list[IntervalPoint]]:
    out: dict[str, list[IntervalPoint]] = {}
    for i, row in enumerate(csv_rows(path, ("unit", "interval_s", "co2_kg", "mwh")), start=2):
        where = f"{path} line {i}"
        seconds = _num(f"{where}: interval_s", row["interval_s"])
        if seconds <= 0:
            raise InputError(f"{where}: interval_s", f"must be above 0, got {row['interval_s']!r}")
        out.setdefault(row["unit"], []).append(
            IntervalPoint(
                _num(f"{where}: co2_kg", row["co2_kg"]) / 1000.0,
                _num(f"{where}: mwh", row["mwh"]),
                seconds / 3600.0,
            )
        )
    if not out:
        raise InputError(str(path), "no readings")
    return out


def read_years(path: Path) -> int:
    """The first year of a pathway's `year,demand_mwh` file, whose years follow each other."""
    rows = csv_rows(path, ("year", "demand_mwh"))
    if not rows:
        raise InputError(str(path), "no rows")
    raw = rows[0]["year"].strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):     # int() of 5,000 digits raises
        raise InputError(f"{path} line 2: year", f"must be a year, got {shown(rows[0]['year'])}")
    first = int(raw)
    for i, row in enumerate(rows):
        if row["year"].strip() != str(first + i):
            raise InputError(f"{path} line {i + 2}: year", f"must be {first + i} (years follow each other "
                             f"from the first), got {shown(row['year'])}")
    return first


def read_demand(path: Path, column: str = "demand_mw") -> tuple[float, ...]:
    """One value per row; an `hour` column, when the file has one, must count 0, 1, 2, ... (the
    horizon is the rows in order, so a shuffled or repeated hour would be planned silently wrong)."""
    rows = csv_rows(path, (column,))
    if not rows:
        raise InputError(str(path), "no rows")
    for i, r in enumerate(rows):
        if "hour" in r and (r["hour"] or "").strip() != str(i):
            raise InputError(f"{path} line {i + 2}: hour", f"must be {i} (hours count 0, 1, 2, ... in "
                             f"order), got {r['hour']!r}")
    return tuple(_num(f"{path} line {i}: {column}", r[column]) for i, r in enumerate(rows, start=2))


def _unit(
    where: str,
    raw: Mapping[str, Any],
    readings: Mapping[str, list[IntervalPoint]],
    declared: Mapping[str, UnitLimits],
) -> UnitModel:
    name = raw.get("unit")
    unknown = sorted(set(raw) - UNIT_KEYS)
    if unknown:
        raise InputError(f"{where}: {unknown[0]}", f"unknown field; known are {', '.join(sorted(UNIT_KEYS))}")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: unit", f"must be a non-empty name, got {name!r}")
    where = f"{where} ({name})"
    given = [k for k in ("capacity_mw", "min_mw", "ramp_mw_per_h") if k in raw]
    if not given and name in declared:  # the limits genesis declares (a ledger source)
        limits = declared[name]
    else:
        for key in ("capacity_mw", "min_mw", "ramp_mw_per_h"):
            if key not in raw:
                raise InputError(f"{where}: {key}", "is missing")
        try:
            limits = UnitLimits(
                name,
                _num(f"{where}: capacity_mw", raw["capacity_mw"]),
                _num(f"{where}: min_mw", raw["min_mw"]),
                _num(f"{where}: ramp_mw_per_h", raw["ramp_mw_per_h"]),
                str(raw.get("fuel", "coal")),
            )
        except InputError as exc:
            if exc.where.startswith(where):
                raise
            # UnitLimits names "unit U1: min_mw"; the file's place is more use to its author
            raise InputError(f"{where}: {exc.where.rpartition(': ')[2]}", exc.problem) from None
    fit = None
    if name in readings:
        curve, fit = fit_curve(readings[name], unit=name)
    elif isinstance(raw.get("curve"), Mapping):
        c = raw["curve"]
        curve = IntensityCurve(*(_num(f"{where}: curve.{k}", c.get(k, 0.0), lo=-math.inf) for k in "abc"))
    else:
        raise InputError(f"{where}: curve", "is missing and no readings were given for the unit to fit it")
    try:
        model = UnitModel(
            limits,
            curve,
            _num(f"{where}: fuel_cost_per_mwh", raw.get("fuel_cost_per_mwh", 30.0)),
            _num(f"{where}: no_load_cost_per_h", raw.get("no_load_cost_per_h", 0.0)),
            _num(f"{where}: startup_cost", raw.get("startup_cost", 0.0)),
            fit,
        )
    except InputError as exc:
        if exc.where.startswith(where):
            raise
        raise InputError(f"{where}: {exc.where.rpartition(': ')[2]}", exc.problem) from None
    for mw in (limits.min_mw, limits.capacity_mw):
        if mw > 0 and curve.co2_t_h(mw) < 0:
            raise InputError(
                f"{where}: curve", f"gives negative CO2 ({curve.co2_t_h(mw):g} t/h) at {mw:g} MW"
            )
    return model


def _load(path: Path) -> list[Mapping[str, Any]]:
    try:
        doc = jsonfile.loads(read_limited(path, MAX_UNITS_FILE_BYTES))
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    except TooLargeError as exc:
        raise InputError(str(path), f"{exc}: not a units file") from None
    except JsonFileError as exc:
        raise InputError(str(path), exc.problem) from None
    return unit_list(doc.get("units") if isinstance(doc, dict) else None, f"{path}: units")


def unit_list(units: Any, where: str) -> list[Mapping[str, Any]]:
    """The `units` list of a units document (a file's, or a request body's)."""
    if not isinstance(units, list) or not units or not all(isinstance(u, dict) for u in units):
        raise InputError(where, "must be a non-empty list of unit objects")
    return units


def read_units(
    path: Path,
    readings: Mapping[str, list[IntervalPoint]] | None = None,
    declared: Mapping[str, UnitLimits] | None = None,
) -> tuple[UnitModel, ...]:
    """Units from the JSON; a unit giving none of its limits takes those `declared` (genesis)."""
    return units_from_json(_load(path), f"{path}: units", readings, declared)


def units_from_json(
    units: list[Mapping[str, Any]],
    where: str,
    readings: Mapping[str, list[IntervalPoint]] | None = None,
    declared: Mapping[str, UnitLimits] | None = None,
) -> tuple[UnitModel, ...]:
    """The unit objects of a `unit_list` (errors name `where[i] (name): field`)."""
    return tuple(_unit(f"{where}[{i}]", raw, readings or {}, declared or {}) for i, raw in enumerate(units))


def read_options(path: Path) -> tuple[UnitOptions, ...]:
    out = []
    for i, raw in enumerate(_load(path)):
        where = f"{path}: units[{i}] ({raw.get('unit')}): options"
        o = raw.get("options", {})
        if not isinstance(o, dict):
            raise InputError(where, f"must be an object, got {o!r}")
        known = {"fixed_cost_per_year", "retire_cost", "retrofit_cost", "retrofit_cut", "availability"}
        if set(o) - known:
            raise InputError(f"{where}.{sorted(set(o) - known)[0]}", f"unknown; known are {sorted(known)}")
        retro = o.get("retrofit_cost")
        out.append(
            UnitOptions(
                str(raw.get("unit")),
                _num(f"{where}.fixed_cost_per_year", o.get("fixed_cost_per_year", 0)),
                _num(f"{where}.retire_cost", o.get("retire_cost", 0)),
                None if retro is None else _num(f"{where}.retrofit_cost", retro),
                _num(f"{where}.retrofit_cut", o.get("retrofit_cut", 0)),
                _num(f"{where}.availability", o.get("availability", 0.85)),
            )
        )
    return tuple(out)


def read_initial_mw(path: Path) -> tuple[float | None, ...] | None:
    """Each unit's output in the hour before the horizon (`initial_mw`, 0 = off), or None when
    no unit gives one (then hour 0 is free of ramp and start-up terms)."""
    return initial_mw_from_json(_load(path), f"{path}: units")


def initial_mw_from_json(units: list[Mapping[str, Any]], where: str) -> tuple[float | None, ...] | None:
    values = [u.get("initial_mw") for u in units]
    if all(v is None for v in values):
        return None
    return tuple(
        None if v is None else _num(f"{where}[{i}] ({units[i].get('unit')}): initial_mw", v)
        for i, v in enumerate(values)
    )
