"""The dispatch's cap from the chain: the allowance still available for the horizon.

Theory of operation. For the compliance year of the horizon's first hour, the company holds
allocated + bought - sold allowances (the chain's `Balance`; surrendered ones still count
against this year's emissions, so they are not subtracted) and has emitted E tonnes of CO2
so far this year (the committed readings, by the query module). The allowance still
available is holdings - E (possibly negative: already short). A day's dispatch should not
get the whole year's remainder, so the cap is its pro-rata share, available x horizon hours /
hours left in the year from the horizon's start, unless the caller gives the share
(`--cap-share`, 0..1, e.g. 1 for the last planning period of the year). A negative
remainder gives a cap of 0, which the dispatch refuses as infeasible (cap) unless the units
can stay off: being short already is said, not planned around.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from carbonlab.apps.errors import InputError
from carbonlab.node.allowances.answers import Balance


@dataclass(frozen=True, slots=True)
class ChainCap:
    company: str
    year: int
    holdings_t: int            # allocated + bought - sold
    emitted_t: float           # committed CO2 this year before the horizon
    available_t: float         # holdings - emitted
    hours_left: int            # from the horizon's start to the year's end
    share: float               # of `available_t` given to the horizon
    cap_t: float               # max(available, 0) x share


def year_bounds(year: int) -> tuple[int, int]:
    return (int(datetime(year, 1, 1, tzinfo=UTC).timestamp()),
            int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp()))


def chain_cap(balance: Balance, emitted_t: float, *, start_s: int, horizon_h: int,
              share: float | None = None) -> ChainCap:
    _, y1 = year_bounds(balance.year)
    hours_left = (y1 - start_s) // 3600
    if hours_left < horizon_h:
        start = datetime.fromtimestamp(start_s, UTC).isoformat(timespec="minutes")
        raise InputError("--start", f"the horizon of {horizon_h} h from {start} "
                         f"runs past the end of {balance.year} ({hours_left} h left)")
    if share is None:
        share = horizon_h / hours_left
    elif not 0 < share <= 1:
        raise InputError("--cap-share", f"must be above 0 and at most 1, got {share!r}")
    holdings = balance.allocated_t + balance.bought_t - balance.sold_t
    available = holdings - emitted_t
    return ChainCap(balance.company, balance.year, holdings, emitted_t, available, hours_left, share,
                    max(available, 0.0) * share)
