"""The query module: readings summed by period and group, with substituted and missing shares.

Theory of operation. One SQL pass sums the selected meters' readings per (meter, period
bucket); Python then folds meters into the row's group (company, plant, unit, stack) from
genesis. The flag and measured/substituted filters are conditions inside the sums, not a
WHERE clause, so the same pass also counts every reading of the bucket and `missing` stays
"no reading at all", whatever the filter keeps.

Day, month and year roll-ups read `reading_days` (one row per meter, day and substitution)
when the file has it complete, no flag filter is given and the time range is whole UTC days;
otherwise they read the readings. Both give the same totals (a test holds them equal).

Missing intervals. A meter is *expected* to report every `reading_interval_s` (genesis)
interval whose start lies in its window: the query's [since, until) where given, and
otherwise from its first reading's start to its last reading's end on the ledger. A bucket's
expected count is the number of interval starts of the window inside the bucket; missing =
expected - intervals with a reading (never below 0). A meter with no reading at all and no
range given has an empty window: nothing expected of it. Every bucket a group's window
touches is a row, so the number of rows is known before any work: more than MAX_ROWS is
refused (`period`), never cut short.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from carbonlab.node.errors import SchemaError
from carbonlab.node.genesis import Genesis
from carbonlab.node.ledger import typedsql
from carbonlab.node.ledger.stored import select
from carbonlab.node.ledger.typedsql import meters_in
from carbonlab.node.query.columns import GAS_COLUMNS, SUMMED, present, summed_expr
from carbonlab.node.query.filters import (
    LEVEL_KEYS,
    MAX_TIME,
    EmissionsFilter,
    FilterError,
    Gas,
    Level,
    Measured,
    Period,
)
from carbonlab.node.query_names import FILTER_NAMES, MAX_ROWS
from carbonlab.node.schema import as_choice, as_dict, as_float, as_int, as_list, as_str

DAY_S = 86_400
FIXED_S = {Period.INTERVAL: 0, Period.HOUR: 3600, Period.DAY: DAY_S}
MAX_PROOF_READINGS = 5_000


class Shares:
    """The substituted share of the readings and the missing share of the expected intervals,
    beside every total: for the query's rows and the report's sums alike."""

    __slots__ = ()
    readings: int
    substituted: int
    expected: int
    missing: int

    @property
    def substituted_share(self) -> float:
        return self.substituted / self.readings if self.readings else 0.0

    @property
    def missing_share(self) -> float:
        return self.missing / self.expected if self.expected else 0.0


@dataclass(frozen=True, slots=True)
class RollupRow(Shares):
    """One period of one group. Masses in kg (None: no selected reading carries that gas),
    energy in MWh and GJ. `readings` counts the selected readings, `substituted` those of them
    substituted; `expected` and `missing` are intervals (see the module's docstring)."""

    period_start: int
    period_end: int
    company: str | None
    plant: str | None
    unit: str | None
    stack: str | None
    meter: str | None
    co2_kg: float | None
    ch4_kg: float | None
    n2o_kg: float | None
    gross_mwh: float | None
    heat_input_gj: float | None
    readings: int
    substituted: int
    expected: int
    missing: int
    proofs: tuple[dict[str, Any], ...] = field(default=(), compare=False)


    def mass_kg(self, gas: Gas) -> float | None:
        value: float | None = getattr(self, GAS_COLUMNS[gas])
        return value

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["substituted_share"] = self.substituted_share
        out["missing_share"] = self.missing_share
        if not self.proofs:
            del out["proofs"]
        else:
            out["proofs"] = list(self.proofs)
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str = "row") -> RollupRow:
        """From `to_json`'s form; a missing or mistyped field raises SchemaError naming it
        (`rows[3].co2_kg`): an answer read back may come from anyone."""
        names = [f for f in cls.__dataclass_fields__ if f != "proofs"]
        o = as_dict(obj, where, allowed=(*names, *_ROW_SHARES, "proofs"),
                    required=(*names, *_ROW_SHARES))
        values: dict[str, Any] = {}
        for n in names:
            field_name, value = f"{where}.{n}", o[n]
            if n in _ROW_TIMES:   # a calendar month or year has an end up to 9999
                values[n] = as_int(value, field_name, lo=0, hi=253_402_300_799)
            elif n in _ROW_INTS:
                values[n] = as_int(value, field_name, lo=0, hi=2**62)
            elif value is None:
                values[n] = None
            elif n in _ROW_NAMES:
                values[n] = as_str(value, field_name)
            else:
                values[n] = as_float(value, field_name)
        row = cls(**values, proofs=tuple(as_list(o.get("proofs", []), f"{where}.proofs",
                                                  max_len=MAX_PROOF_READINGS)))
        row._check_shares(o, where)
        return row

    def _check_shares(self, o: dict[str, Any], where: str) -> None:
        """The two shares are written beside the counts they derive from; an answer whose share
        says another figure than its counts contradicts itself (`rows[0].substituted_share`)."""
        for part, whole in (("substituted", "readings"), ("missing", "expected")):
            if getattr(self, part) > getattr(self, whole):
                raise SchemaError(f"{where}.{part}", f"{getattr(self, part)} is more than the "
                                  f"row's {whole} ({getattr(self, whole)})")
            name = f"{part}_share"
            claimed, share = as_float(o[name], f"{where}.{name}"), getattr(self, name)
            if abs(claimed - share) > 1e-9:
                raise SchemaError(f"{where}.{name}", f"{claimed!r} contradicts the row's own "
                                  f"{getattr(self, part)} {part} of {getattr(self, whole)} {whole} "
                                  f"({share!r})")


_ROW_TIMES = ("period_start", "period_end")
_ROW_INTS = ("readings", "substituted", "expected", "missing")
_ROW_NAMES = ("company", "plant", "unit", "stack", "meter")
_ROW_SHARES = ("substituted_share", "missing_share")


@dataclass(frozen=True, slots=True)
class QueryResult:
    filter: EmissionsFilter
    period: Period
    level: Level
    interval_s: int
    rows: tuple[RollupRow, ...]
    # the ledger's height the rows are as of: they sum exactly the readings of blocks up to it
    # (one read snapshot), so a report proves those readings and no later one
    height: int

    def to_json(self) -> dict[str, Any]:
        return {"filter": self.filter.params(), "period": self.period.value,
                "level": self.level.value, "interval_s": self.interval_s,
                "rows": [r.to_json() for r in self.rows], "height": self.height}

    @classmethod
    def from_json(cls, obj: Any) -> QueryResult:
        """From `to_json`'s form; anything missing, mistyped or unknown raises SchemaError
        naming the field (`filter.gas`, `rows[0].co2_kg`)."""
        fields = ("filter", "period", "level", "interval_s", "rows", "height")
        o = as_dict(obj, "answer", allowed=fields, required=fields)
        params = as_dict(o["filter"], "filter", allowed=FILTER_NAMES)
        for name, value in params.items():
            as_str(value, f"filter.{name}", allow_empty=True)
        try:
            flt = EmissionsFilter.from_params(params)
        except FilterError as exc:
            raise SchemaError(f"filter.{exc.field}", exc.problem) from None
        period = as_choice(o["period"], "period", [p.value for p in Period])
        level = as_choice(o["level"], "level", [lv.value for lv in Level])
        rows = as_list(o["rows"], "rows", max_len=MAX_ROWS)
        return cls(flt, Period(period), Level(level), as_int(o["interval_s"], "interval_s", lo=1),
                   tuple(RollupRow.from_json(r, f"rows[{i}]") for i, r in enumerate(rows)),
                   as_int(o["height"], "height", lo=0))


def bucket_sql(period: Period | None, column: str) -> str:
    if period is None:      # one bucket: the whole range
        return "0"
    if period is Period.INTERVAL:
        return column
    if period in FIXED_S:
        return f"({column} - {column} % {FIXED_S[period]})"
    start = "start of month" if period is Period.MONTH else "start of year"
    return f"CAST(strftime('%s', {column}, 'unixepoch', '{start}') AS INTEGER)"


def bucket_end(period: Period, start: int, interval_s: int) -> int:
    if period is Period.INTERVAL:
        return start + interval_s
    if period in FIXED_S:
        return start + FIXED_S[period]
    import datetime as dt

    day = dt.datetime.fromtimestamp(start, dt.UTC)
    if period is Period.MONTH:
        nxt = day.replace(year=day.year + day.month // 12, month=day.month % 12 + 1)
    else:
        nxt = day.replace(year=day.year + 1)
    return int(nxt.timestamp())


def uses_days(db: sqlite3.Connection, flt: EmissionsFilter, period: Period | None) -> bool:
    if period not in (None, Period.DAY, Period.MONTH, Period.YEAR) or flt.flags:
        return False
    if any(t is not None and t % DAY_S for t in (flt.since, flt.until)):
        return False
    row = db.execute("SELECT value FROM meta WHERE key = 'aggregates'").fetchone()
    from carbonlab.node.ledger.aggregate import MARKER, present

    return row is not None and bytes(row[0]) == MARKER and present(db)


def _windows(db: sqlite3.Connection, flt: EmissionsFilter,
             meters: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Each meter's [since, until): the filter's, or its first reading's start and its last
    reading's end, read typed (text sorts last: it would be the "last" reading)."""
    out = {}
    for meter in meters:
        lo, hi = flt.since, flt.until
        if lo is None:
            first = select(db, "readings", ("interval_start",), "meter_id = ?", (meter,),
                           order="interval_start", limit=1)
            lo = first[0][0] if first else None
        if hi is None:
            last = select(db, "readings", ("interval_start", "interval_s"), "meter_id = ?",
                          (meter,), order="interval_start DESC", limit=1)
            hi = last[0][0] + last[0][1] if last else None
        if lo is not None and hi is not None and hi > lo:
            out[meter] = (lo, hi)
    return out


def intervals_in(lo: int, hi: int, step: int) -> int:
    """Intervals expected in [lo, hi): the multiples of `step` from the first one at or after
    `lo` (the count every "expected" and "missing" figure uses; the report recomputes it)."""
    if hi <= lo:
        return 0
    first = -(-lo // step) * step
    return max(0, -(-(hi - first) // step))


def _expected(window: tuple[int, int] | None, start: int, end: int, step: int) -> int:
    if window is None:
        return 0
    return intervals_in(max(start, window[0]), min(end, window[1]), step)


def selected_sql(flt: EmissionsFilter, alias: str) -> str:
    """The SQL condition the flag and measured filters put on a readings (or day) row."""
    conditions = []
    if flt.flags:
        conditions.append(f"{alias}.flag IN ({', '.join(repr(f.value) for f in flt.flags)})")
    if flt.measured is Measured.MEASURED:
        conditions.append(f"{alias}.substituted = 0")
    elif flt.measured is Measured.SUBSTITUTED:
        conditions.append(f"{alias}.substituted = 1")
    return " AND ".join(conditions) or "1"


def meter_buckets(db: sqlite3.Connection, flt: EmissionsFilter, period: Period | None,
                  meters: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Per (bucket, meter): bucket start, meter, the summed columns (GAS_COLUMNS order, then
    gross_mwh, heat_input_gj), selected readings, selected substituted, all readings (intervals).
    `period` None: one bucket (0) over the whole range. The rows summed are checked for their
    stored types in the same pass (`typedsql`): a wrong one raises `StoredValueError`."""
    days = uses_days(db, flt, period)
    table, alias, time = ("reading_days", "d", "day_start") if days else \
        ("readings", "r", "interval_start")
    have = present(db, table)
    cond = selected_sql(flt, alias)
    sums = [summed_expr(GAS_COLUMNS[g], have, alias, cond) if g in flt.gases else "NULL"
            for g in GAS_COLUMNS]
    sums += [summed_expr(c, have, alias, cond) for c in ("gross_mwh", "heat_input_gj")]
    count = f"{alias}.readings" if days else "1"
    where = [meters_in(meters)]
    args: list[Any] = list(meters)
    typedsql.hidden(db, table, time, where[0], args)      # text a range below would leave out
    for value, op in ((flt.since, ">="), (flt.until, "<")):
        if value is not None:
            where.append(f"{time} {op} ?")
            args.append(value)
    read = [time, "substituted", *(c for c in SUMMED if c in have),
            *(("readings",) if days else ("flag",) if flt.flags else ())]
    sql = (f"SELECT {bucket_sql(period, f'{alias}.{time}')} AS bucket, {alias}.meter_id, "
           f"{', '.join(sums)}, SUM(CASE WHEN {cond} THEN {count} ELSE 0 END), "
           f"SUM(CASE WHEN {cond} AND {alias}.substituted = 1 THEN {count} ELSE 0 END), "
           f"SUM({count}), {typedsql.witness(table, read, f'{alias}.')} "
           f"FROM {table} {alias} WHERE {' AND '.join(where)} GROUP BY bucket, {alias}.meter_id")
    rows = db.execute(sql, args).fetchall()
    if any(row[-1] for row in rows):
        typedsql.name_wrong(db, table, read, " AND ".join(where), args)
    return [row[:-1] for row in rows]


def add_optional(a: float | None, b: float | None) -> float | None:
    """A sum where None is "no reading carries it" (not zero): None + x = x."""
    if b is None:
        return a
    return b if a is None else a + b


def query(db: sqlite3.Connection, genesis: Genesis, flt: EmissionsFilter, *,
          period: Period = Period.DAY, level: Level = Level.COMPANY,
          max_rows: int | None = MAX_ROWS) -> QueryResult:
    """Totals of the readings `flt` selects, one row per period bucket and group (ordered by
    period, then group); buckets with expected intervals and no reading appear too. Its reads
    must share one snapshot (`Ledger.emissions_query` runs it in a read transaction): the
    height it reports is that of the blocks whose readings it summed. More than
    `max_rows` rows is refused (`period`) before any work; None: no limit (an application
    module that reads a whole ledger interval by interval)."""
    meters = flt.check(genesis)
    step = genesis.params.reading_interval_s
    keys = LEVEL_KEYS[level]
    (height,) = db.execute("SELECT MAX(height) FROM blocks").fetchone()
    info = genesis.meter_by_id
    windows = _windows(db, flt, meters)
    if period in (Period.MONTH, Period.YEAR):
        _calendar_bound(windows)

    def group_of(meter: str) -> tuple[str, ...]:
        m = info[meter]
        return tuple(m.id if k == "meter" else getattr(m, k) for k in keys)

    members: dict[tuple[str, ...], list[str]] = {}
    for meter in meters:
        members.setdefault(group_of(meter), []).append(meter)
    spans = {group: _merged([windows[m] for m in ms if m in windows]) for group, ms in members.items()}
    if max_rows is not None:
        _check_row_count(spans, period, step, max_rows)
    acc: dict[tuple[int, tuple[str, ...]], list[Any]] = {}
    intervals: dict[tuple[int, str], int] = {}
    for bucket, meter, *values in meter_buckets(db, flt, period, meters):
        *sums, selected, substituted, every = values
        key = (bucket, group_of(meter))
        row = acc.get(key)
        if row is None:
            row = acc[key] = [None] * len(sums) + [0, 0]
        for i, v in enumerate(sums):
            row[i] = add_optional(row[i], v)
        row[-2] += selected
        row[-1] += substituted
        intervals[(bucket, meter)] = every
    _add_empty_buckets(acc, spans, period, step, n_sums=5)
    out = []
    for (bucket, group), (co2, ch4, n2o, mwh, gj, selected, substituted) in sorted(acc.items()):
        end = bucket_end(period, bucket, step)
        expected = missing = 0
        for meter in members[group]:
            e = _expected(windows.get(meter), bucket, end, step)
            expected += e
            missing += max(0, e - intervals.get((bucket, meter), 0))
        names = dict(zip(keys, group, strict=True))
        out.append(RollupRow(bucket, end, names.get("company"), names.get("plant"),
                             names.get("unit"), names.get("stack"), names.get("meter"),
                             co2, ch4, n2o, mwh, gj, selected, substituted, expected, missing))
    return QueryResult(flt, period, level, step, tuple(out), int(height or 0))


def _calendar_bound(windows: dict[str, tuple[int, int]]) -> None:
    """Months and years end up to 9999 (Python's and SQLite's calendars). The contract takes
    an interval start up to 2**40, so a gateway with a broken clock can put a reading past
    it on the chain; a month or year roll-up over it is refused naming `until`."""
    late = sorted((hi, meter) for meter, (_, hi) in windows.items() if hi > MAX_TIME)
    if late:
        hi, meter = late[-1]
        raise FilterError("until", f"meter {meter!r} has readings after 9999-01-01 (up to {hi}); "
                                   f"month and year roll-ups need until at or before {MAX_TIME}")


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of a group's meter windows, as disjoint sorted spans."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(windows):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def bucket_index(period: Period, t: int, step: int) -> int:
    """A number that grows by one from each bucket to the next."""
    if period is Period.INTERVAL or period in FIXED_S:
        return t // (step if period is Period.INTERVAL else FIXED_S[period])
    import datetime as dt

    day = dt.datetime.fromtimestamp(t, dt.UTC)
    return day.year * 12 + day.month - 1 if period is Period.MONTH else day.year


def _check_row_count(spans: dict[tuple[str, ...], list[tuple[int, int]]], period: Period,
                     step: int, max_rows: int) -> None:
    """Refuse, before any work, an answer of more than `max_rows` rows: every bucket a group's
    window touches is a row (readings lie inside the windows)."""
    total = sum(bucket_index(period, hi - 1, step) - bucket_index(period, lo, step) + 1
                for group in spans.values() for lo, hi in group)
    if total > max_rows:
        raise FilterError("period", f"the answer would have up to {total:,} rows, at most "
                                    f"{max_rows:,} are given (narrow since/until, choose a longer "
                                    "period or a higher level)")


def _add_empty_buckets(acc: dict[tuple[int, tuple[str, ...]], list[Any]],
                       spans: dict[tuple[str, ...], list[tuple[int, int]]], period: Period,
                       step: int, n_sums: int) -> None:
    """Buckets inside a group's window where it has no reading at all: a row of zeros (its
    missing share then says why). `_check_row_count` has bounded their number."""
    for group, merged in spans.items():
        for lo, hi in merged:
            start = bucket_floor(period, lo, step)
            while start < hi:
                acc.setdefault((start, group), [None] * n_sums + [0, 0])
                start = bucket_end(period, start, step)


def bucket_floor(period: Period, t: int, step: int) -> int:
    if period is Period.INTERVAL:
        return t - t % step
    if period in FIXED_S:
        return t - t % FIXED_S[period]
    import datetime as dt

    day = dt.datetime.fromtimestamp(t, dt.UTC)
    first = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period is Period.YEAR:
        first = first.replace(month=1)
    return int(first.timestamp())


def check_proof_budget(result: QueryResult) -> None:
    total = sum(r.readings for r in result.rows)
    if total > MAX_PROOF_READINGS:
        raise FilterError("proofs", f"the query selects {total} readings; proofs are given for at "
                                    f"most {MAX_PROOF_READINGS} (narrow the filter)")
