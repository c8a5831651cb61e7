"""What a query answer's proofs say about what it left out: the completeness half of
`verify-proofs` (`prove.check_proofs` checks each proof and each row's sums, then calls these).

Theory of operation. A proof shows that one reading is on a certified block; no proof shows
that an answer proves *every* reading it should. What can be said about omission comes from
the answer's own figures and from what the proofs carry besides their reading:

- Expected intervals. With `since` and `until` given, every meter the filter selects expects
  every interval start of the range, so each row's `expected` is computed exactly; without
  them it lies between the intervals its meters' proven readings span and every interval of
  the period.
- Missing intervals. With no flag or measured filter a row proves every reading of its
  meters, so `missing` is the expected intervals less the proven readings, meter by meter: a
  reading left out of the answer must be claimed missing. With such a filter the unselected
  readings that fill intervals are not proven, so `missing` is bounded above only.
- Rows. With `since` and `until` given, each group the filter selects has a row for every
  period of the range; without, for every period between a meter's first and last proven
  reading.
- Batches. Each proof carries its reading's whole batch, which the contract accepts or
  refuses whole: a reading of a proven batch that the answer selects must be proven too.
- Seq. The chain takes a meter's readings in rising seq and time only, so proven readings out
  of that order fail; a seq skipped between two proven readings is only noted, since the
  contract allows gaps (a refused batch leaves one) and nothing offline tells them apart.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

from carbonlab.node.genesis import Genesis
from carbonlab.node.model import Batch, Reading
from carbonlab.node.query.filters import LEVEL_KEYS, EmissionsFilter, Measured
from carbonlab.node.query.rollup import QueryResult, RollupRow, bucket_floor, bucket_index, intervals_in
from carbonlab.node.query_names import Period

Group = tuple[str | None, ...]


class Proven(NamedTuple):
    """A reading whose proof checked: the row that proves it and the batch it came in (hex)."""

    reading: Reading
    row: int
    batch_hex: str
    block: int


@dataclass(frozen=True, slots=True)
class Scope:
    """The answer's claim in the terms the checks need: its meters, groups and range."""

    result: QueryResult
    genesis: Genesis
    chosen: frozenset[str]
    members: dict[Group, tuple[str, ...]]     # each group of the answer's level: its meters

    @classmethod
    def of(cls, genesis: Genesis, result: QueryResult) -> Scope:
        """FilterError when the answer's filter names what genesis does not know."""
        chosen = frozenset(result.filter.check(genesis))
        keys = LEVEL_KEYS[result.level]
        members: dict[Group, list[str]] = {}
        for meter in sorted(chosen):
            m = genesis.meter_by_id[meter]
            members.setdefault(tuple(m.id if k == "meter" else getattr(m, k) for k in keys),
                               []).append(meter)
        return cls(result, genesis, chosen, {g: tuple(ms) for g, ms in members.items()})

    @property
    def flt(self) -> EmissionsFilter:
        return self.result.filter

    @property
    def step(self) -> int:
        return self.genesis.params.reading_interval_s

    @property
    def exact_range(self) -> bool:
        return self.flt.since is not None and self.flt.until is not None

    @property
    def every_reading(self) -> bool:
        """No flag or measured filter: a row sums (and proves) every reading of its meters."""
        return not self.flt.flags and self.flt.measured is Measured.ALL

    def group_of(self, meter: str) -> Group:
        m = self.genesis.meter_by_id[meter]
        return tuple(m.id if k == "meter" else getattr(m, k) for k in LEVEL_KEYS[self.result.level])

    def row_group(self, row: RollupRow) -> Group:
        return tuple(getattr(row, k) for k in LEVEL_KEYS[self.result.level])

    def in_range(self, start: int) -> bool:
        return (self.flt.since is None or start >= self.flt.since) and \
            (self.flt.until is None or start < self.flt.until)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether the period [start, end) meets the answer's [since, until)."""
        return (self.flt.since is None or end > self.flt.since) and \
            (self.flt.until is None or start < self.flt.until)

    def selects(self, r: Reading) -> bool:
        flt = self.flt
        return r.meter_id in self.chosen and self.in_range(r.interval_start) and \
            (not flt.flags or r.flag in flt.flags) and \
            (flt.measured is not Measured.MEASURED or not r.substituted) and \
            (flt.measured is not Measured.SUBSTITUTED or r.substituted)


def spans(proven: list[Proven]) -> dict[str, tuple[int, int]]:
    """Per meter, the first proven interval's start and the last one's end."""
    out: dict[str, tuple[int, int]] = {}
    for p in proven:
        r = p.reading
        lo, hi = out.get(r.meter_id, (r.interval_start, r.interval_start + r.interval_s))
        out[r.meter_id] = (min(lo, r.interval_start), max(hi, r.interval_start + r.interval_s))
    return out


def interval_problems(scope: Scope, row: RollupRow, meters: tuple[str, ...], counts: dict[str, int],
                      proven_spans: dict[str, tuple[int, int]]) -> list[str]:
    """`expected` and `missing` against what the range and the proven readings allow."""
    flt, step = scope.flt, scope.step
    start, end = row.period_start, row.period_end
    least = most = missing_lo = missing_hi = 0
    for meter in meters:
        a = start if flt.since is None else max(start, flt.since)
        b = end if flt.until is None else min(end, flt.until)
        top = intervals_in(a, b, step)
        span = proven_spans.get(meter)
        if scope.exact_range:
            low = top
        elif span is None:
            low = 0     # a meter that never reported expects nothing
        else:
            lo = span[0] if flt.since is None else flt.since
            hi = span[1] if flt.until is None else flt.until
            low = intervals_in(max(start, lo), min(end, hi), step)
        proven = counts.get(meter, 0)
        least, most = least + low, most + top
        missing_hi += max(0, top - proven)
        if scope.every_reading:
            missing_lo += max(0, low - proven)
    out = []
    if not least <= row.expected <= most:
        allowed = f"the range gives {least}" if least == most else \
            f"its meters can expect {least}..{most} here"
        out.append(f"expected: {row.expected} claimed, {allowed}")
    if not missing_lo <= row.missing <= min(missing_hi, row.expected):
        if missing_lo == missing_hi:
            out.append(f"missing: {row.missing} claimed, {missing_lo} of its expected intervals "
                       "have no proven reading (a reading left out must be claimed missing)")
        else:
            out.append(f"missing: {row.missing} claimed, the proven readings allow "
                       f"{missing_lo}..{min(missing_hi, row.expected)}")
    return out


def coverage_problems(scope: Scope, rows: dict[Group, set[int]],
                      proven_spans: dict[str, tuple[int, int]]) -> list[str]:
    """Periods a group must have a row for and has none: every period of the range, or
    (without one) between a meter's first and last proven reading."""
    period, step, flt = scope.result.period, scope.step, scope.flt
    out = []
    for group, meters in sorted(scope.members.items(), key=lambda g: [x or "" for x in g[0]]):
        needed = []
        for meter in meters:
            span = proven_spans.get(meter)
            lo = flt.since if flt.since is not None else (span[0] if span else None)
            hi = flt.until if flt.until is not None else (span[1] if span else None)
            if lo is not None and hi is not None and hi > lo:
                needed.append((bucket_index(period, lo, step), bucket_index(period, hi - 1, step)))
        have = sorted({bucket_index(period, t, step) for t in rows.get(group, set())})
        gap = _first_gap(_merge(needed), have)
        if gap is not None:
            first, count = gap
            name = "/".join(x for x in group if x) or "all"
            out.append(f"{name}: {count} {period.value} period(s) of its range have no row, the "
                       f"first starting {_start(period, first, step)} (rows left out)")
    return out


def batch_problems(scope: Scope, proven: list[Proven], seen: set[tuple[str, int]],
                   row_at: dict[tuple[Group, int], int]) -> list[str]:
    """A reading the answer selects, in a batch it proves another reading of, not proven."""
    out = []
    batches: dict[str, Proven] = {}
    for p in proven:
        batches.setdefault(p.batch_hex, p)
    for raw, first in batches.items():
        batch = Batch.decode(bytes.fromhex(raw))
        for r in batch.readings:
            if (r.meter_id, r.seq) in seen or not scope.selects(r):
                continue
            at = row_at.get((scope.group_of(r.meter_id),
                             bucket_floor(scope.result.period, r.interval_start, scope.step)))
            where = f"row {at}" if at is not None else "no row holds its period"
            out.append(f"reading {r.meter_id}/{r.seq} (interval {r.interval_start}) is left out "
                       f"({where}): the filter selects it and it is in batch {batch.gateway_id}/"
                       f"{batch.batch_seq} of block {first.block}, with the proven reading "
                       f"{first.reading.meter_id}/{first.reading.seq}")
    return out


def seq_findings(scope: Scope, proven: list[Proven]) -> tuple[list[str], list[str]]:
    """Problems (a meter's proven readings out of the chain's order) and notes (seqs skipped
    between proven readings: left out, or never on the chain)."""
    by_meter: dict[str, list[Reading]] = {}
    for p in proven:
        by_meter.setdefault(p.reading.meter_id, []).append(p.reading)
    problems, notes = [], []
    for meter, readings in sorted(by_meter.items()):
        readings.sort(key=lambda r: r.seq)
        gaps = []
        for a, b in itertools.pairwise(readings):
            if b.interval_start < a.interval_start + a.interval_s:
                problems.append(f"meter {meter}: readings {a.seq} and {b.seq} overlap or run "
                                "backwards in time; the chain accepts a meter's readings in rising "
                                "seq and time only")
            elif b.seq > a.seq + 1:
                gaps.append((a.seq, b.seq))
        if gaps and scope.every_reading:
            a_seq, b_seq = gaps[0]
            notes.append(f"meter {meter}: {len(gaps)} gap(s) in seq between proven readings, the "
                         f"first {a_seq + 1}..{b_seq - 1}: readings left out of the answer, or "
                         "never on the chain (the contract lets a gateway skip seqs); `carbonlab "
                         f"ledger proof LEDGER --meter {meter} --seq {a_seq + 1}` on any member's "
                         "ledger tells which")
    return problems, notes


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _first_gap(needed: list[tuple[int, int]], have: list[int]) -> tuple[int, int] | None:
    """The first needed bucket index without a row, and how many lack one (without walking
    every bucket: a range can hold many more than an answer's rows)."""
    import bisect

    first, count = None, 0
    for lo, hi in needed:
        i = bisect.bisect_left(have, lo)
        j = bisect.bisect_right(have, hi)
        count += (hi - lo + 1) - (j - i)
        if first is None and (hi - lo + 1) > (j - i):
            expect = lo
            for k in range(i, j):
                if have[k] != expect:
                    break
                expect += 1
            first = expect
    return None if first is None else (first, count)


def _start(period: Period, index: int, step: int) -> int:
    """The start (unix seconds) of the bucket `bucket_index` numbers `index`."""
    import datetime as dt

    if period is Period.INTERVAL:
        return index * step
    if period is Period.MONTH:
        return int(dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC).timestamp())
    if period is Period.YEAR:
        return int(dt.datetime(index, 1, 1, tzinfo=dt.UTC).timestamp())
    return index * (3600 if period is Period.HOUR else 86_400)
