"""The names the emissions query speaks in: gases, roll-up periods, grouping levels, and the
measured/substituted choice. Kept apart from the engines (`node/query/`) so that the command line
lists them as choices without importing the query code (issue 17: `--help` stays light)."""

from __future__ import annotations

from enum import StrEnum

# rows of one answer at most by default (a year of 100 stacks hour by hour is 876,000)
MAX_ROWS = 1_000_000
# the filter's parameter names, in the API's query string and as CLI options
FILTER_NAMES = ("company", "plant", "unit", "stack", "meter", "gas", "since", "until", "flag",
                "measured")


class Gas(StrEnum):
    CO2 = "co2"
    CH4 = "ch4"
    N2O = "n2o"


class Period(StrEnum):
    """The roll-up period of one row; `interval` is one reading interval (no roll-up)."""

    INTERVAL = "interval"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Level(StrEnum):
    """What one row groups: everything, or one company, plant, unit, stack or meter."""

    ALL = "all"
    COMPANY = "company"
    PLANT = "plant"
    UNIT = "unit"
    STACK = "stack"
    METER = "meter"


class Measured(StrEnum):
    ALL = "all"
    MEASURED = "measured"
    SUBSTITUTED = "substituted"
