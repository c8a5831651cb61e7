"""The durable averager: samples in, signed batches in the outbox out, one transaction per step.

Theory of operation. `add_samples` appends samples to the store (one transaction
per call; the service calls it about once a second, so a SIGKILL loses at most the
samples of the last second, never an interval). `seal(now)` then, in ONE
transaction:

1. closes every interval of every meter whose end plus `close_delay_s` has passed
   (the interval row records validity, flag and averages; its samples are deleted),
   including intervals in which no sample arrived at all (the gateway was down);
2. gives readings, in interval order per meter, the next reading seq: a valid
   interval at once; an invalid one once the first valid interval after it is known
   or `hold_s` has passed (40 CFR 75 substitution wants the value after the gap);
3. packs the readings into batches of at most `batch_max_readings`, signs each with
   the next batch_seq and writes it to the outbox.

Numbering. A meter's first reading gets seq = its interval's index since the epoch
(interval_start // interval_s), and every later interval the next seq, so seq stays equal
to the interval index while interval_s is unchanged (after a change, shorter aligned
"bridge" intervals lead to the first boundary of the new length; seq keeps counting).
The first batch_seq ever is the unix time (s) of the first seal. Both are persisted and
only ever incremented; the clock-based origins matter only if the gateway loses its
data_dir: a rebuilt gateway (same key) then starts above every number it used before (as
long as it sealed fewer than one batch per second on average), instead of being rejected
as a replay forever.

The interval in progress (its samples), `closed_until`, `last_seq` per meter and the
next batch_seq are all in the same file and advance in the same commit, so after a
restart the gateway carries on exactly where the last commit left it: no interval
is produced twice and none is skipped (intervals missed while it was down are closed
as missing and filled with substitute data, flagged and marked `substituted`).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from carbonlab.gateway import interval as iv
from carbonlab.gateway import substitute as sub
from carbonlab.gateway.sample import Sample, SampleStatus
from carbonlab.gateway.store import Store
from carbonlab.node.crypto import Signer
from carbonlab.node.emissions import Co2Method, Gas, co2_mass_kg, gas_mass_kg
from carbonlab.node.genesis import GasChannel, LoadChannels
from carbonlab.node.model import Basis, Batch, DataFlag, Reading

log = logging.getLogger(__name__)
RETAIN_INTERVALS = 8760           # history kept per meter: lookbacks and availability (75.32)


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """What the averager needs to know about one meter (from config and genesis)."""

    meter_id: str
    sample_period_s: float
    basis: Basis
    ranges: Mapping[str, tuple[float, float]]
    max_co2_pct: float
    max_flow_m3_s: float
    co2_method: Co2Method = Co2Method.DENSITY   # from the meter's genesis entry
    # wire-version-2 channels the meter reports: those its genesis entry declares (and its
    # register map has; `service.meter_specs` checks), with genesis's units and ranges
    gases: Mapping[Gas, GasChannel] | None = None
    load: LoadChannels = field(default_factory=LoadChannels)

    @property
    def extra_ranges(self) -> dict[str, tuple[float, float]]:
        """Canonical channel -> genesis range of each extra channel the meter reports."""
        out = {gas.value: ch.range for gas, ch in (self.gases or {}).items()}
        if self.load.gross_mw is not None:
            out["gross_mw"] = self.load.gross_mw
        if self.load.heat_input_mw is not None:
            out["heat_input_mw"] = self.load.heat_input_mw
        return out

    @property
    def channels(self) -> tuple[str, ...]:
        extra = self.extra_ranges
        return iv.CHANNELS + tuple(c for c in iv.EXTRA_CHANNELS if c in extra)


_COLS = ", ".join(iv.ALL_CHANNELS)


def _v2_fields(meter: MeterSpec, values: Mapping[str, float], length: int) -> dict[str, object]:
    """The Reading fields of the meter's extra channels from the interval's values."""
    out: dict[str, object] = {}
    for gas, ch in (meter.gases or {}).items():
        conc = values[gas.value]
        out.update({f"{gas}_conc": conc, f"{gas}_unit": ch.unit, f"{gas}_basis": Basis(ch.basis),
                    f"{gas}_kg": gas_mass_kg(gas, conc, ch.unit, ch.basis, values["h2o_pct"],
                                             values["flow_m3_s"], values["temp_c"],
                                             values["pressure_kpa"], length)})
    if meter.load.gross_mw is not None:
        out["gross_mwh"] = values["gross_mw"] * length / 3600.0
    if meter.load.heat_input_mw is not None:
        out["heat_input_gj"] = values["heat_input_mw"] * length / 1000.0
    return out


@dataclass(frozen=True, slots=True)
class JournalParams:
    chain_id: str
    gateway_id: str
    interval_s: int = 60
    close_delay_s: float = 2.0
    hold_s: float = 3600.0
    batch_max_readings: int = 500
    stopped_flow_m3_s: float = 0.0


class Journal:
    def __init__(self, store: Store, params: JournalParams, meters: Iterable[MeterSpec],
                 signer: Signer) -> None:
        self.store = store
        self.params = params
        self.meters = {m.meter_id: m for m in meters}
        self.signer = signer
        self.late_samples = 0

    # -- samples ---------------------------------------------------------------------------

    def add_samples(self, samples: Iterable[Sample], now: float | None = None) -> int:
        """Persist samples of intervals still open; returns how many were kept."""
        now = time.time() if now is None else now
        rows = []
        with self.store.transaction() as db:
            closed = self._closed_until(db, now)
            for s in samples:
                if s.meter_id not in closed:
                    log.warning("sample from unknown meter %r dropped", s.meter_id)
                    continue
                if s.t < closed[s.meter_id]:
                    self.late_samples += 1   # its interval is already closed (or before start)
                    continue
                v = s.values
                rows.append((s.meter_id, s.t, s.status.value, *(v.get(c) for c in iv.ALL_CHANNELS)))
            db.executemany(f"INSERT INTO samples (meter_id, t, status, {_COLS}) VALUES "
                           f"({', '.join('?' * (3 + len(iv.ALL_CHANNELS)))})", rows)
        return len(rows)

    def _closed_until(self, db: sqlite3.Connection, now: float) -> dict[str, int]:
        out = dict(db.execute("SELECT meter_id, closed_until FROM meters").fetchall())
        first = iv.align(now, self.params.interval_s) + self.params.interval_s
        for meter_id in self.meters:
            if meter_id not in out:   # first start: begin with the next whole interval
                # seq starts at the interval's index since the epoch (see module docstring)
                db.execute("INSERT INTO meters VALUES (?, ?, ?, 0)",
                           (meter_id, first, first // self.params.interval_s - 1))
                out[meter_id] = first
        return out

    # -- sealing -----------------------------------------------------------------------------

    def seal(self, now: float | None = None) -> list[Batch]:
        """Close due intervals, emit readings, write signed batches; all in one transaction."""
        now = time.time() if now is None else now
        with self.store.transaction() as db:
            self._closed_until(db, now)
            for meter in self.meters.values():
                self._close_due(db, meter, now)
            readings: list[Reading] = []
            for meter in self.meters.values():
                readings.extend(self._emit(db, meter, now))
            return self._batch(db, readings, now)

    def _close_due(self, db: sqlite3.Connection, meter: MeterSpec, now: float) -> None:
        p = self.params
        closed_until, qa = db.execute("SELECT closed_until, qa_count FROM meters WHERE meter_id = ?",
                                      (meter.meter_id,)).fetchone()
        start = int(closed_until)
        while True:
            # After interval_s changed, bridge with shorter aligned intervals up to a boundary
            # of the new length (the contract wants interval_start % interval_s == 0).
            length = p.interval_s if start % p.interval_s == 0 else math.gcd(start, p.interval_s)
            end = start + length
            if end + p.close_delay_s > now:
                break
            rows = db.execute(f"SELECT t, status, {_COLS} FROM samples WHERE meter_id = ? AND t < ?",
                              (meter.meter_id, end)).fetchall()
            samples = [Sample(meter.meter_id, r[0], SampleStatus(r[1]),
                              {c: v for c, v in zip(iv.ALL_CHANNELS, r[2:], strict=True)
                               if v is not None})
                       for r in rows]
            s = iv.summarize(meter.meter_id, start, length, samples,
                             sample_period_s=meter.sample_period_s,
                             ranges={**meter.ranges, **meter.extra_ranges},
                             stopped_flow_m3_s=p.stopped_flow_m3_s, channels=meter.channels)
            vals = [s.values.get(c) for c in iv.ALL_CHANNELS]
            db.execute(f"INSERT INTO intervals (meter_id, interval_start, interval_s, valid, flag, "
                       f"valid_samples, {_COLS}) "
                       f"VALUES ({', '.join('?' * (6 + len(iv.ALL_CHANNELS)))})",
                       (meter.meter_id, start, length, int(s.valid), s.flag.value,
                        s.valid_samples, *vals))
            db.execute("DELETE FROM samples WHERE meter_id = ? AND t < ?", (meter.meter_id, end))
            qa += int(s.valid)
            start = end
        db.execute("UPDATE meters SET closed_until = ?, qa_count = ? WHERE meter_id = ?",
                   (start, qa, meter.meter_id))
        db.execute("DELETE FROM intervals WHERE meter_id = ? AND seq IS NOT NULL AND "
                   "interval_start < ?", (meter.meter_id, start - RETAIN_INTERVALS * p.interval_s))

    def _emit(self, db: sqlite3.Connection, meter: MeterSpec, now: float) -> list[Reading]:
        p = self.params
        last_seq, qa_count = db.execute("SELECT last_seq, qa_count FROM meters WHERE meter_id = ?",
                                        (meter.meter_id,)).fetchone()
        pending = db.execute(f"SELECT interval_start, interval_s, valid, flag, valid_samples, {_COLS} "
                             "FROM intervals WHERE meter_id = ? AND seq IS NULL ORDER BY interval_start",
                             (meter.meter_id,)).fetchall()
        out: list[Reading] = []
        for start, length, valid, flag, valid_samples, *vals in pending:
            tiers = None
            if valid:
                values = dict(zip(iv.ALL_CHANNELS, vals, strict=True))
            else:
                after = self._neighbour(db, meter.meter_id, start, after=True)
                if after is None and now - (start + length) < p.hold_s:
                    break                          # wait for the value after the gap
                values, used = sub.substitute(self._gap(db, meter, start, after, qa_count),
                                              sub.Limits(meter.max_co2_pct, meter.max_flow_m3_s,
                                                         meter.ranges, meter.extra_ranges))
                tiers = json.dumps(used)
            last_seq += 1
            reading = Reading(
                meter_id=meter.meter_id, seq=last_seq, interval_start=start, interval_s=length,
                co2_pct=values["co2_pct"], co2_basis=meter.basis, o2_pct=values["o2_pct"],
                h2o_pct=values["h2o_pct"], flow_m3_s=values["flow_m3_s"], temp_c=values["temp_c"],
                pressure_kpa=values["pressure_kpa"], valid_samples=valid_samples,
                flag=DataFlag(flag),
                co2_kg=co2_mass_kg(values["co2_pct"], meter.basis.value, values["h2o_pct"],
                                   values["flow_m3_s"], values["temp_c"], values["pressure_kpa"],
                                   length, meter.co2_method),
                substituted=not valid, co2_method=meter.co2_method,
                **_v2_fields(meter, values, length),  # type: ignore[arg-type]
            )
            db.execute(f"UPDATE intervals SET seq = ?, substituted = ?, tiers = ?, "
                       f"{', '.join(c + ' = ?' for c in iv.ALL_CHANNELS)} "
                       "WHERE meter_id = ? AND interval_start = ?",
                       (last_seq, int(not valid), tiers, *(values.get(c) for c in iv.ALL_CHANNELS),
                        meter.meter_id, start))
            out.append(reading)
        db.execute("UPDATE meters SET last_seq = ? WHERE meter_id = ?", (last_seq, meter.meter_id))
        return out

    def _neighbour(self, db: sqlite3.Connection, meter_id: str, start: int,
                   *, after: bool) -> tuple[int, dict[str, float]] | None:
        op, order = (">", "ASC") if after else ("<", "DESC")
        row = db.execute(f"SELECT interval_start, {_COLS} FROM intervals WHERE meter_id = ? AND "
                         f"valid = 1 AND interval_start {op} ? ORDER BY interval_start {order} "
                         "LIMIT 1",
                         (meter_id, start)).fetchone()
        if row is None:
            return None
        return int(row[0]), {c: v for c, v in zip(iv.ALL_CHANNELS, row[1:], strict=True)
                             if v is not None}

    def _gap(self, db: sqlite3.Connection, meter: MeterSpec, start: int,
             after: tuple[int, dict[str, float]] | None, qa_count: int) -> sub.Gap:
        p = self.params
        before = self._neighbour(db, meter.meter_id, start, after=False)
        gap_start = before[0] + p.interval_s if before else start
        if after is not None:
            gap_end = after[0]
        else:
            gap_end = int(db.execute("SELECT closed_until FROM meters WHERE meter_id = ?",
                                     (meter.meter_id,)).fetchone()[0])
        history = db.execute("SELECT co2_pct, flow_m3_s FROM intervals WHERE meter_id = ? AND "
                             "valid = 1 AND interval_start < ? ORDER BY interval_start DESC LIMIT ?",
                             (meter.meter_id, start, sub.FLOW_INITIAL_QA)).fetchall()
        total, qa = db.execute("SELECT COUNT(*), COALESCE(SUM(valid), 0) FROM intervals "
                               "WHERE meter_id = ? AND interval_start < ?",
                               (meter.meter_id, start)).fetchone()
        return sub.Gap(
            before=before[1] if before else None, after=after[1] if after else None,
            gap_s=gap_end - gap_start,
            co2_lookback=[h[0] for h in history[: sub.CO2_INITIAL_QA]][::-1],
            flow_lookback=[h[1] for h in history][::-1],
            qa_count=qa_count,
            availability_pct=100.0 * qa / total if total else 0.0,
        )

    def history_kg(self, meter_id: str) -> tuple[list[tuple[int, float]], int]:
        """(interval_start, CO2 kg) of the meter's emitted intervals kept, and its closed_until."""
        meter = self.meters[meter_id]
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT interval_start, interval_s, co2_pct, h2o_pct, flow_m3_s, temp_c, pressure_kpa "
                "FROM intervals WHERE meter_id = ? AND seq IS NOT NULL ORDER BY interval_start",
                (meter_id,)).fetchall()
            row = self.store.db.execute("SELECT closed_until FROM meters WHERE meter_id = ?",
                                        (meter_id,)).fetchone()
        points = [(int(r[0]), co2_mass_kg(r[2], meter.basis.value, r[3], r[4], r[5], r[6], int(r[1]),
                                               meter.co2_method))
                  for r in rows]
        return points, int(row[0]) if row else 0

    def _batch(self, db: sqlite3.Connection, readings: list[Reading], now: float) -> list[Batch]:
        p = self.params
        batches = []
        next_seq = self.store.meta("next_batch_seq", int(now))   # first ever: the clock, see above
        for i in range(0, len(readings), p.batch_max_readings):
            chunk = tuple(readings[i: i + p.batch_max_readings])
            batch = Batch(p.chain_id, p.gateway_id, next_seq, chunk).signed(self.signer)
            db.execute("INSERT INTO outbox (batch_seq, created_at, n_readings, body) VALUES (?, ?, ?, ?)",
                       (next_seq, now, len(chunk), batch.encode()))
            db.executemany("UPDATE intervals SET batch_seq = ? WHERE meter_id = ? AND seq = ?",
                           [(next_seq, r.meter_id, r.seq) for r in chunk])
            batches.append(batch)
            next_seq += 1
        Store.set_meta(db, "next_batch_seq", next_seq)
        return batches
