"""Hourly emission series per unit, plant and company, read from interval records.

A record is one interval of one unit: `time` (unix seconds or ISO 8601 UTC, the interval's
start), `company`, `plant`, `unit`, `co2_kg`. The hourly series of a unit sums its intervals
by the hour they start in; an hour without a record is 0 (a unit that did not run, or a gap:
the query module's share of missing intervals says which). A plant's or company's series
is the sum of its units'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from carbonlab.apps.compliance.model import MAX_T
from carbonlab.apps.csvfile import rows as csv_rows
from carbonlab.apps.errors import InputError
from carbonlab.checks import shown


class Level(StrEnum):
    UNIT = "unit"
    PLANT = "plant"
    COMPANY = "company"


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    start_s: int
    company: str
    plant: str
    unit: str
    co2_kg: float


@dataclass(frozen=True, slots=True)
class HourlySeries:
    name: str
    first_hour_s: int  # unix seconds of the first hour (multiple of 3600)
    kg: tuple[float, ...]

    @property
    def end_s(self) -> int:
        return self.first_hour_s + 3600 * len(self.kg)


FIRST_S = int(datetime(1990, 1, 1, tzinfo=UTC).timestamp())   # the allowance records' years
END_S = int(datetime(2201, 1, 1, tzinfo=UTC).timestamp())
MAX_SPAN_H = 24 * 366 * 10       # ten years of hours in one series
MAX_CO2_KG = MAX_T               # one interval of one unit: the bound the apps put on tonnes, as kg


def parse_time(where: str, raw: str) -> int:
    """Unix seconds, or ISO 8601 (UTC when it names no offset), in the years 1990..2200."""
    raw = raw.strip()
    try:
        if raw.replace(".", "", 1).isdigit():
            seconds = int(float(raw))
        else:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            seconds = int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    except (ValueError, OverflowError):
        raise InputError(where, f"must be unix seconds or an ISO 8601 time, got {raw!r}") from None
    if not FIRST_S <= seconds < END_S:
        raise InputError(where, f"{raw!r} is not in the years 1990..2200")
    return seconds


def read_records(path: Path) -> list[IntervalRecord]:
    out = []
    seen: dict[tuple[str, int], int] = {}
    owners: dict[str, tuple[str, str, int]] = {}
    for i, row in enumerate(csv_rows(path, ("time", "company", "plant", "unit", "co2_kg")), start=2):
        where = f"{path} line {i}"
        try:
            kg = float(row["co2_kg"])
        except ValueError:
            raise InputError(f"{where}: co2_kg", f"must be a number, got {row['co2_kg']!r}") from None
        if not (math.isfinite(kg) and 0 <= kg <= MAX_CO2_KG):
            raise InputError(f"{where}: co2_kg", f"must be a finite number in [0, {MAX_CO2_KG:g}] kg, "
                             f"got {shown(row['co2_kg'])}")
        for key in ("company", "plant", "unit"):
            if not (row[key] or "").strip():
                raise InputError(f"{where}: {key}", "is empty")
        owner = owners.setdefault(row["unit"], (row["company"], row["plant"], i))
        if owner[:2] != (row["company"], row["plant"]):
            raise InputError(f"{where}: plant", f"unit {row['unit']!r} is in {row['company']}/{row['plant']} "
                             f"here but in {owner[0]}/{owner[1]} on line {owner[2]}")
        start = parse_time(f"{where}: time", row["time"])
        first = seen.setdefault((row["unit"], start), i)
        if first != i:
            raise InputError(f"{where}: time", f"unit {row['unit']!r} has a record for {row['time'].strip()} "
                             f"already (line {first}): an interval counted twice")
        out.append(IntervalRecord(start, row["company"], row["plant"], row["unit"], kg))
    if not out:
        raise InputError(str(path), "no records")
    return out


def hourly(records: Iterable[IntervalRecord], level: Level, name: str) -> HourlySeries:
    """The hourly series of one unit, plant or company (an unknown name is an error naming it)."""
    chosen = [r for r in records if getattr(r, level.value) == name]
    if not chosen:
        raise InputError(f"--{level.value}", f"no records for {level.value} {name!r}")
    first = min(r.start_s for r in chosen) // 3600
    last = max(r.start_s for r in chosen) // 3600
    if last - first >= MAX_SPAN_H:
        raise InputError(f"--{level.value}", f"the records of {name!r} span {last - first + 1:,} hours; "
                         f"a series holds at most {MAX_SPAN_H:,} (ten years)")
    kg = [0.0] * (last - first + 1)
    for r in chosen:
        kg[r.start_s // 3600 - first] += r.co2_kg
    return HourlySeries(name, first * 3600, tuple(kg))


def names(records: Iterable[IntervalRecord], level: Level) -> list[str]:
    return sorted({getattr(r, level.value) for r in records})
