"""What an emissions query may ask: one typed filter, checked against genesis.

A filter is built once from text (`EmissionsFilter.from_params`, the API's query string and
the CLI's options speak the same names) and checked once against the genesis in hand
(`check`): an unknown company, plant, unit, stack or meter, an unknown gas or flag, or a
time range that ends before it starts raises `FilterError` naming the parameter. A value the
caller gave is quoted through `carbonlab.checks.shown` (at most 80 characters and its length).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from carbonlab.checks import shown
from carbonlab.node.errors import NodeError
from carbonlab.node.genesis import Genesis
from carbonlab.node.model import DataFlag
from carbonlab.node.query_names import Gas as Gas  # re-exported: the engines import them from here
from carbonlab.node.query_names import Level as Level
from carbonlab.node.query_names import Measured as Measured
from carbonlab.node.query_names import Period as Period


class FilterError(NodeError, ValueError):
    """Raised for a query parameter that is malformed or names something genesis does not know;
    the caller's fault. `field` is the parameter's name (`company`, `since`, `gas`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# the hierarchy columns each level keeps, outermost first
LEVEL_KEYS: dict[Level, tuple[str, ...]] = {
    Level.ALL: (),
    Level.COMPANY: ("company",),
    Level.PLANT: ("company", "plant"),
    Level.UNIT: ("company", "plant", "unit"),
    Level.STACK: ("company", "plant", "unit", "stack"),
    Level.METER: ("company", "plant", "unit", "stack", "meter"),
}
MAX_SPAN_S = 100 * 366 * 86400
# since/until lie in 1970-01-01 .. 9999-01-01 UTC: every month and year bucket of such a range
# has a calendar end, and the value fits SQLite's 64-bit integers
MIN_TIME, MAX_TIME = 0, 253_370_764_800
_DIGITS = re.compile(r"[+-]?[0-9]+")
_MOST_DIGITS = 24     # significant digits of unix seconds worth converting (MAX_TIME has 12)
E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], name: str, raw: str) -> E:
    try:
        return kind(raw.strip().lower())
    except ValueError:
        raise FilterError(name, f"{shown(raw)} is not one of {', '.join(m.value for m in kind)}") from None


def _time(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if _DIGITS.fullmatch(raw.strip()):   # ASCII digits only: int() also takes "1_000" and "١٢٣"
        text = raw.strip()
        digits = text.lstrip("+-").lstrip("0") or "0"
        sign = "-" if text.startswith("-") else ""
        if len(digits) > _MOST_DIGITS:   # out of range: int() of over 4,300 digits would raise
            raise FilterError(name, _outside(f"{sign}{digits[:20]}... ({len(digits)} digits)"))
        value = -int(digits) if text.startswith("-") else int(digits)
    else:
        from datetime import UTC, datetime

        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise FilterError(name, f"{shown(raw)} is neither unix seconds nor an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        value = int(when.timestamp())
    _in_range(name, value)
    return value


def _in_range(name: str, value: int) -> None:
    if not MIN_TIME <= value <= MAX_TIME:
        shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:20]}... ({len(str(value))} digits)"
        raise FilterError(name, _outside(shown))


def _outside(shown: str) -> str:
    return f"{shown} is outside 1970-01-01..9999-01-01 UTC ({MIN_TIME}..{MAX_TIME} unix seconds)"


def check_range(since: int | None, until: int | None) -> None:
    """The one rule on a time range, wherever one is asked for (the query, the structure and
    `/v1/emissions`): each bound inside 1970..9999, `until` after `since`, at most 100 years."""
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            _in_range(name, value)
    if since is not None and until is not None:
        if until <= since:
            raise FilterError("until", f"{until} is not after since ({since})")
        if until - since > MAX_SPAN_S:
            raise FilterError("until", "the range spans more than 100 years")


def time_range(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """`since` and `until` read from text (unix seconds or ISO 8601; empty: not given) and held
    to `check_range`; FilterError names the parameter."""
    lo, hi = _time("since", since), _time("until", until)
    check_range(lo, hi)
    return lo, hi


@dataclass(frozen=True, slots=True)
class EmissionsFilter:
    """Readings an emissions query counts. `None` (or empty) means no restriction. Times are
    unix seconds over interval starts, [since, until)."""

    company: str | None = None
    plant: str | None = None
    unit: str | None = None
    stack: str | None = None
    meter: str | None = None
    gases: tuple[Gas, ...] = (Gas.CO2, Gas.CH4, Gas.N2O)
    since: int | None = None
    until: int | None = None
    flags: tuple[DataFlag, ...] = ()
    measured: Measured = Measured.ALL

    @classmethod
    def from_params(cls, params: Mapping[str, str | None]) -> EmissionsFilter:
        """From text parameters (API query string, CLI options); the gas and flag lists are
        comma-separated."""
        def text(name: str) -> str | None:
            value = params.get(name)
            return None if value is None or value == "" else value

        gases = tuple(dict.fromkeys(_choice(Gas, "gas", g) for g in (text("gas") or "").split(",")
                                    if g.strip()))
        flags = []
        for raw in (text("flag") or "").split(","):
            if raw.strip():
                try:
                    flags.append(DataFlag(raw.strip().upper()))
                except ValueError:
                    raise FilterError("flag", f"{shown(raw)} is not an HJ 212 data flag (one of "
                                              f"{', '.join(f.value for f in DataFlag)})") from None
        return cls(company=text("company"), plant=text("plant"), unit=text("unit"),
                   stack=text("stack"), meter=text("meter"),
                   gases=gases or (Gas.CO2, Gas.CH4, Gas.N2O),
                   since=_time("since", text("since")), until=_time("until", text("until")),
                   flags=tuple(dict.fromkeys(flags)),
                   measured=_choice(Measured, "measured", text("measured") or "all"))

    def check(self, genesis: Genesis) -> tuple[str, ...]:
        """Raise FilterError for a name genesis does not know or a bad range; return the ids of
        the meters the filter selects (sorted)."""
        check_range(self.since, self.until)
        meters = list(genesis.meters)
        for name in ("company", "plant", "unit", "stack", "meter"):
            wanted = getattr(self, name)
            if wanted is None:
                continue
            attr = "id" if name == "meter" else name
            known = sorted({getattr(m, attr) for m in genesis.meters})
            if wanted not in known:
                names = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
                raise FilterError(name, f"unknown {name} {shown(wanted)} (genesis names {names or 'none'})")
            meters = [m for m in meters if getattr(m, attr) == wanted]
        if not meters:
            raise FilterError("company", "the company, plant, unit, stack and meter given select "
                                         "no meter together")
        return tuple(sorted(m.id for m in meters))

    def params(self) -> dict[str, str]:
        """The text form `from_params` reads back (what the CLI sends to a node's API)."""
        out: dict[str, str] = {}
        for name in ("company", "plant", "unit", "stack", "meter"):
            if getattr(self, name) is not None:
                out[name] = str(getattr(self, name))
        out["gas"] = ",".join(g.value for g in self.gases)
        if self.since is not None:
            out["since"] = str(self.since)
        if self.until is not None:
            out["until"] = str(self.until)
        if self.flags:
            out["flag"] = ",".join(f.value for f in self.flags)
        out["measured"] = self.measured.value
        return out
