"""The gateway process: poller -> averager -> signer -> outbox -> uplink (and an HJ 212 forwarder).

Theory of operation. One asyncio process, one TaskGroup:

* the poller (one worker per link) puts every `Sample` on a queue;
* the averager task, once a second, writes the queued samples to the store and
  calls `Journal.seal`, which closes due intervals and writes signed batches to the
  outbox in one transaction (see `journal.py` for why a SIGKILL anywhere is safe);
* the uplink task takes the OLDEST batch of the outbox and calls `Uplink.deliver`,
  which returns only when a node has said committed or rejected; only then is the
  batch removed from the outbox (to the `committed` log or the dead letters) and the
  next one taken. One batch in flight, in batch_seq order, as the contract's
  replay rule requires;
* the forecaster refreshes `carbonlab_gateway_forecast_co2_kg{meter}` (next hour, kg) every
  5 minutes from the intervals kept in the store (`forecast.py`);
* optionally, the HJ 212 forwarder sends a minute/hour data frame per reading to an
  authority platform over TCP (best effort, not durable: the chain is the record).

Modes: `edge` (any number of meters, one uplink) and `direct` (exactly one meter
with its own uplink: the same process, the config allows one meter only).
SQLite work runs in worker threads (the store serialises it) so polling never waits
for an fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3

from carbonlab import logs
from carbonlab.gateway import forecast, hj212, preflight
from carbonlab.gateway.config import GatewayConfig, MaxPotential
from carbonlab.gateway.errors import ConfigError, FrameError
from carbonlab.gateway.journal import Journal, JournalParams, MeterSpec
from carbonlab.gateway.metrics import GatewayMetrics
from carbonlab.gateway.outbox import Outbox
from carbonlab.gateway.poller import Poller
from carbonlab.gateway.registermap import MeterRegisterMap
from carbonlab.gateway.sample import Sample
from carbonlab.gateway.store import Store
from carbonlab.gateway.uplink import Decision, Uplink
from carbonlab.node.crypto import Signer
from carbonlab.node.emissions import Gas, mg_m3_of
from carbonlab.node.genesis import Genesis, MeterInfo
from carbonlab.node.model import Basis, Batch, Reading

log = logging.getLogger(__name__)
FLUSH_S = 1.0
FORECAST_EVERY_S = 300.0
MAX_UNSAVED = 100_000       # samples held in memory while the store cannot be written


class _Stop(Exception):
    pass


def meter_specs(cfg: GatewayConfig, genesis: Genesis, signer: Signer) -> list[MeterSpec]:
    """Check the config against genesis and build what the averager needs per meter."""
    gw = genesis.gateway_by_id.get(cfg.gateway_id)
    if gw is None:
        raise ConfigError(f"{cfg.path}: field 'gateway_id': {cfg.gateway_id!r} is not a gateway in "
                          f"{cfg.genesis}")
    if gw.public_key != signer.public_key:
        raise ConfigError(f"{cfg.path}: field 'key_file': {cfg.key_file} is not the key genesis "
                          f"names for gateway {cfg.gateway_id!r}")
    specs = []
    for m in cfg.meters:
        info = genesis.meter_by_id.get(m.id)
        if info is None or m.id not in gw.meters:
            raise ConfigError(f"{cfg.path}: meter {m.id!r}: genesis does not let gateway "
                              f"{cfg.gateway_id!r} report for it (allowed: {', '.join(gw.meters)})")
        most = cfg.max_potential.get(m.id, MaxPotential())
        max_co2, max_flow = most.max_co2_pct, most.max_flow_m3_s
        check_channels(cfg, m.id, m.register_map, info)
        specs.append(MeterSpec(
            meter_id=m.id, sample_period_s=m.sample_period_s, basis=Basis(info.co2_basis),
            ranges=info.ranges, co2_method=info.co2_method, gases=info.gases, load=info.load,
            max_co2_pct=max_co2 if max_co2 is not None else info.ranges["co2_pct"][1],
            max_flow_m3_s=max_flow if max_flow is not None else info.ranges["flow_m3_s"][1]))
    return specs


def check_channels(cfg: GatewayConfig, meter_id: str, regmap: MeterRegisterMap,
                   info: MeterInfo) -> None:
    """Every channel genesis declares for the meter must be in its register map, in the unit
    and basis genesis states (the contract holds readings to genesis). A map channel genesis
    does not declare is polled but not reported: genesis decides what goes on the chain."""
    where = f"{cfg.path}: meter {meter_id!r} (register map {regmap.name})"
    for gas, channel in info.gases.items():
        if not regmap.has(gas.value):
            raise ConfigError(f"{where}: field 'channels': genesis declares a {gas} channel "
                              f"({channel.unit.value}, {channel.basis}); the map has none")
        spec = regmap.channel(gas.value)
        if (spec.unit, spec.basis) != (channel.unit.value, channel.basis):
            raise ConfigError(f"{where}: field 'channels.{spec.key}': reads {spec.unit} "
                              f"{spec.basis}, genesis declares {channel.unit.value} {channel.basis}")
    for name in ("gross_mw", "heat_input_mw"):
        if getattr(info.load, name) is not None and not regmap.has(name):
            raise ConfigError(f"{where}: field 'channels': genesis declares {name}; the map "
                              f"has no such channel")


def hj212_ch4_mg_m3(conc: float, unit: str, basis: str | None, h2o_pct: float) -> float:
    """A CH4 average as HJ 212 reports concentrations: mg/m3 at 273.15 K, 101.325 kPa, dry."""
    mg = mg_m3_of(conc, unit, Gas.CH4)
    return mg * 100.0 / (100.0 - h2o_pct) if basis == "wet" else mg


def close_delay_s(cfg: GatewayConfig) -> float:
    """How long after an interval ends to close it: at least as long as the slowest poll
    (every try timing out) plus one flush period, so a poll sent inside the interval is in."""
    slowest = max(m.timeout_s * (m.retries + 1) for m in cfg.meters)
    return max(cfg.close_delay_s, slowest + FLUSH_S + 0.5)


class GatewayService:
    def __init__(self, cfg: GatewayConfig) -> None:
        self.cfg = cfg
        self.genesis = Genesis.load(cfg.genesis)
        self.signer = Signer.load(cfg.key_file)
        specs = meter_specs(cfg, self.genesis, self.signer)
        if cfg.interval_s != self.genesis.params.reading_interval_s:
            log.warning("interval_s = %d differs from genesis reading_interval_s = %d",
                        cfg.interval_s, self.genesis.params.reading_interval_s)
        preflight.check(cfg)        # every check before the data dir and gateway.db are created
        self.metrics = GatewayMetrics()
        self.store = Store(cfg.db_path)
        self.journal = Journal(self.store, JournalParams(
            chain_id=self.genesis.chain_id, gateway_id=cfg.gateway_id, interval_s=cfg.interval_s,
            close_delay_s=close_delay_s(cfg), hold_s=cfg.hold_s,
            batch_max_readings=cfg.batch_max_readings), specs, self.signer)
        self.outbox = Outbox(self.store, warn_batches=cfg.outbox_warn_batches)
        self.queue: asyncio.Queue[Sample] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._frames: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
        stop = stop or self._signal_event()
        server = None
        if self.cfg.metrics_listen:
            try:
                server = self.metrics.serve(self.cfg.metrics_listen)
            except OSError as exc:
                raise ConfigError(f"{self.cfg.path}: field 'metrics_listen': cannot listen on "
                                  f"{self.cfg.metrics_listen} ({exc.strerror})") from None
        uplink = Uplink(self.cfg.nodes, self.cfg.uplink,
                        on_result=lambda node, result: self.metrics.uploads.labels(node, result).inc())
        poller = Poller(self.cfg.meters, self.queue, registry=self.metrics.registry)
        log.info("gateway %s (%s mode): %d meters, %d nodes, outbox %d batches",
                 self.cfg.gateway_id, self.cfg.mode, len(self.cfg.meters), len(self.cfg.nodes),
                 self.outbox.depth())
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(poller.run())
                tg.create_task(self._averager())
                tg.create_task(self._uplinker(uplink))
                tg.create_task(self._forecaster())
                if self.cfg.hj212 is not None:
                    tg.create_task(self._forwarder())
                tg.create_task(self._until(stop))
        except* _Stop:
            pass
        finally:
            await asyncio.to_thread(self._flush)
            await uplink.aclose()
            if server is not None:
                server.shutdown()
                server.server_close()
            self.store.close()

    def _signal_event(self) -> asyncio.Event:
        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, event.set)
        return event

    @staticmethod
    async def _until(stop: asyncio.Event) -> None:
        await stop.wait()
        raise _Stop

    def _drain(self) -> list[Sample]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    def _flush(self) -> None:
        self.journal.add_samples(self._drain())

    def _step(self, samples: list[Sample]) -> list[Batch]:
        self.journal.add_samples(samples)
        return self.journal.seal()

    async def _averager(self) -> None:
        unsaved: list[Sample] = []
        while True:
            await asyncio.sleep(FLUSH_S)
            samples = unsaved + self._drain()
            try:
                batches = await asyncio.to_thread(self._step, samples)
            except sqlite3.Error as exc:   # disk full, I/O error: keep the samples, try again
                unsaved = samples[-MAX_UNSAVED:]
                if len(samples) > MAX_UNSAVED:
                    log.error("%d samples dropped: the store cannot take them", len(samples) - MAX_UNSAVED)
                log.error("cannot write to %s (%s); retrying", self.store.path, exc)
                self.metrics.outbox_full.set(1)
                continue
            unsaved = []
            for batch in batches:
                for r in batch.readings:
                    self.metrics.intervals.labels(r.meter_id, r.flag.value).inc()
                    if r.substituted:
                        self.metrics.substituted.labels(r.meter_id).inc()
                    self._forward(r)
            if batches:
                self._wake.set()
            self.metrics.late_samples.set(self.journal.late_samples)
            await asyncio.to_thread(self._outbox_metrics)

    def _outbox_metrics(self) -> None:
        self.metrics.outbox_depth.set(self.outbox.depth())
        self.metrics.outbox_oldest_age.set(self.outbox.oldest_age_s())
        self.metrics.outbox_full.set(0 if self.outbox.check_space() else 1)

    async def _uplinker(self, uplink: Uplink) -> None:
        while True:
            self._wake.clear()
            entry = await asyncio.to_thread(self.outbox.oldest)
            if entry is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), FLUSH_S)
                continue
            with contextlib.suppress(sqlite3.Error):   # only a counter for `gateway outbox`
                await asyncio.to_thread(self.outbox.attempted, entry.batch_seq)
            decision = await uplink.deliver(entry.batch())
            try:
                await asyncio.to_thread(self._settle, entry.batch_seq, decision)
            except sqlite3.Error as exc:   # the batch stays; resending it later is idempotent
                log.error("cannot record the fate of batch %d in %s (%s); retrying",
                          entry.batch_seq, self.store.path, exc)
                await asyncio.sleep(FLUSH_S)

    def _settle(self, batch_seq: int, decision: Decision) -> None:
        if decision.committed:
            self.outbox.committed(batch_seq, decision.height)
            log.debug("batch %d committed at height %s", batch_seq, decision.height)
        else:
            self.outbox.dead_letter(batch_seq, decision.reason, decision.detail)
            self.metrics.dead_letters.labels(decision.reason).inc()
        self._outbox_metrics()

    async def _forecaster(self) -> None:
        while True:
            forecasts = await asyncio.to_thread(self._forecast_all)
            for meter_id, kg in forecasts.items():
                self.metrics.forecast.labels(meter_id).set(kg)
            await asyncio.sleep(FORECAST_EVERY_S)

    def _forecast_all(self) -> dict[str, float]:
        out = {}
        for meter_id in self.journal.meters:
            points, closed_until = self.journal.history_kg(meter_id)
            predicted = forecast.next_hours_kg(points, closed_until)
            if predicted is not None:
                out[meter_id] = predicted[0]
        return out

    # -- HJ 212 forwarding -----------------------------------------------------------------------

    def _forward(self, r: Reading) -> None:
        fwd = self.cfg.hj212
        if fwd is None:
            return
        cn = hj212.CN_HOUR if r.interval_s >= 3600 else hj212.CN_MINUTE
        stats: dict[str, float | tuple[float, float, float]] = {
            "co2_pct": r.co2_pct, "o2_pct": r.o2_pct, "h2o_pct": r.h2o_pct,
            "flow_m3_s": r.flow_m3_s, "temp_c": r.temp_c, "pressure_kpa": r.pressure_kpa}
        totals = {"co2_pct": r.co2_kg}
        if r.ch4_conc is not None and r.ch4_unit is not None and r.ch4_kg is not None:
            stats["ch4"] = hj212_ch4_mg_m3(r.ch4_conc, r.ch4_unit, r.ch4_basis, r.h2o_pct)
            totals["ch4"] = r.ch4_kg
        try:
            frame = hj212.average_frame(cn, fwd.mn[r.meter_id], fwd.pw, r.interval_start, stats,
                                        r.flag.value, totals)
            self._frames.put_nowait(hj212.encode(frame))
        except FrameError as exc:
            log.warning("HJ 212 frame for %s seq %d not forwarded: %s", r.meter_id, r.seq, exc)
        except asyncio.QueueFull:
            log.warning("HJ 212 forwarder is behind; frame for %s seq %d not forwarded",
                        r.meter_id, r.seq)

    async def _forwarder(self) -> None:
        fwd = self.cfg.hj212
        assert fwd is not None
        backoff = 0.5
        while True:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(fwd.host, fwd.port), 5.0)
            except (OSError, TimeoutError) as exc:
                log.info("HJ 212 platform %s:%d unreachable (%s)", fwd.host, fwd.port, exc)
                await asyncio.sleep(backoff)
                backoff = min(30.0, backoff * 2)
                continue
            backoff = 0.5
            try:
                while True:
                    frame = await self._frames.get()
                    writer.write(frame)
                    await asyncio.wait_for(writer.drain(), 10.0)
            except (OSError, TimeoutError) as exc:
                log.info("HJ 212 platform connection lost (%s)", exc)
            finally:
                writer.close()


def run(cfg: GatewayConfig) -> None:
    """Entry point of `carbonlab gateway run`."""
    # httpx logs every request at INFO; pymodbus logs every timeout with a hex dump. The uplink
    # and the poller report those themselves (uploads_total, polls_total, meter transitions).
    logs.setup("gateway", {"gateway": cfg.gateway_id}, cfg.log_level,
               {"httpx": logging.WARNING, "pymodbus": logging.CRITICAL})
    service = GatewayService(cfg)      # validates everything, then creates the data dir (Store)
    asyncio.run(service.run())
