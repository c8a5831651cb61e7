"""A gateway process SIGKILLed at random instants (>= 20 times) while polling emulated meters ends
with every interval of every meter on the chain exactly once.

Two chains: the contract double (runs everywhere, protocol only) and a real `carbonlab node run`
cluster (skipped, with the reason, until the node process exists)."""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from carbonlab.loopback import free_loopback_ports
from carbonlab.node.crypto import Signer
from carbonlab.node.errors import NodeError
from carbonlab.node.model import Batch
from tests.integration.gateway.contract_double import ChainState, DoubleNode, ThreadedDouble
from tests.integration.gateway.gwrig import (
    CARBONLAB,
    Proc,
    wait_for_port,
    write_gateway_toml,
    write_genesis,
    write_meters_yaml,
)
from tests.waiting import wait_until

METERS = ("m1", "m2", "m3")
INTERVAL_S = 2
SAMPLE_PERIOD_S = 0.2
KILLS = 22

ChainReadings = Callable[[], list[tuple[str, int, int]]]   # (meter, interval_start, seq)


def db_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@contextmanager
def double_chain(tmp_path: Path, gw: Signer) -> Iterator[tuple[list[str], ChainReadings]]:
    write_genesis(tmp_path / "genesis.json", gw, METERS, members=[Signer.generate()],
                  interval_s=INTERVAL_S)
    chain = ChainState()
    with ThreadedDouble(DoubleNode(chain, pending_polls=1)) as a, \
            ThreadedDouble(DoubleNode(chain, fail_posts=3)) as b:
        def readings() -> list[tuple[str, int, int]]:
            return [(r.meter_id, r.interval_start, r.seq)
                    for batch in list(chain.committed.values()) for r in batch.readings]
        yield [a.url, b.url], readings


def node_missing() -> str:
    if importlib.util.find_spec("carbonlab.cli.node_cmd") is None:
        return "carbonlab.cli.node_cmd (the `carbonlab node run` process) does not exist yet"
    if importlib.util.find_spec("carbonlab.node.api") is None:
        return "carbonlab.node.api (the node HTTP API) does not exist yet"
    return ""


def run_kills(tmp_path: Path, urls: list[str], readings: ChainReadings, seed: int, *,
              kills: int = KILLS, after_kill: Callable[[int], None] = lambda i: None) -> None:
    rng = random.Random(seed)
    meter_ports = free_loopback_ports(len(METERS) + 1)
    metrics_port = meter_ports.pop()
    write_meters_yaml(tmp_path / "meters.yaml", METERS, meter_ports, sample_period_s=SAMPLE_PERIOD_S)
    write_gateway_toml(tmp_path / "gateway.toml", nodes=urls, meters=METERS, ports=meter_ports,
                       interval_s=INTERVAL_S, sample_period_s=SAMPLE_PERIOD_S,
                       metrics_port=metrics_port)
    db = tmp_path / "data" / "gw1" / "gateway.db"
    with ExitStack() as stack:
        meters = Proc([*CARBONLAB, "meters", "serve", "--config", "meters.yaml"], tmp_path,
                      tmp_path / "meters.log")
        stack.callback(meters.stop)
        for port in meter_ports:
            wait_for_port(port)
        run = [*CARBONLAB, "gateway", "run", "--config", "gateway.toml"]
        for i in range(kills):
            gw = Proc(run, tmp_path, tmp_path / "gateway.log")
            stack.callback(gw.kill)
            wait_for_port(metrics_port, timeout=60)   # the service is up: kill it while it works
            time.sleep(rng.uniform(0.0, 3.0 * INTERVAL_S))   # a random instant: the behaviour under test
            assert gw.alive(), (tmp_path / "gateway.log").read_text()[-3000:]
            gw.kill()
            after_kill(i)
        restarted_at = time.time()
        gw = Proc(run, tmp_path, tmp_path / "gateway.log")
        stack.callback(gw.kill)
        # the restarted gateway has caught up and sealed two intervals of its own for every meter
        wait_until(lambda: min(int(str(c)) for (c,) in db_rows(db, "SELECT closed_until FROM meters"))
                   >= restarted_at + 2 * INTERVAL_S, 60, "every meter sealed two intervals after the restart",
                   poll_s=0.2)
        # drain: every interval closed so far must reach the chain
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            outbox = db_rows(db, "SELECT COUNT(*) FROM outbox")[0][0]
            pending = db_rows(db, "SELECT COUNT(*) FROM intervals WHERE seq IS NULL")[0][0]
            if outbox == 0 and pending == 0:
                break
            time.sleep(0.2)
        assert gw.stop() == 0, (tmp_path / "gateway.log").read_text()[-3000:]
    emitted = sorted((str(m), int(s), int(q)) for m, s, q in
                     db_rows(db, "SELECT meter_id, interval_start, seq FROM intervals "
                                 "WHERE seq IS NOT NULL"))
    on_chain = sorted(readings())
    dead = db_rows(db, "SELECT batch_seq, reason, detail FROM dead_letter")
    assert dead == [], f"rejected batches: {dead}"
    # The gateway keeps sealing intervals while the test drains, so the batch sealed after
    # the drain may still be in the outbox at stop: durably kept, uploaded at the next start.
    # Exactly once: no interval twice on the chain, and everything the gateway emitted is on
    # the chain or still in the outbox (a batch committed just before the stop is in both).
    keys = [(m, s) for m, s, _ in on_chain]
    assert len(keys) == len(set(keys)), "an interval is on the chain twice"
    held = sorted({(r.meter_id, r.interval_start, r.seq)
                   for (body,) in db_rows(db, "SELECT body FROM outbox")
                   for r in Batch.decode(bytes(body)).readings})
    left = db_rows(db, "SELECT COUNT(*) FROM outbox")[0][0]
    assert left <= 2, f"{left} batches left in the outbox after the drain: {held}"
    assert sorted(set(on_chain) | set(held)) == emitted
    for meter in METERS:
        starts = [s for m, s, _ in emitted if m == meter]
        seqs = [q for m, _, q in emitted if m == meter]
        assert len(starts) >= 10, f"{meter}: only {len(starts)} intervals"
        # every interval between the first and the last: none lost while the gateway was dead
        assert starts == list(range(starts[0], starts[-1] + INTERVAL_S, INTERVAL_S)), meter
        # seq = the interval's index: strictly increasing, one per interval, none skipped
        assert seqs == [s // INTERVAL_S for s in starts], meter
        closed_until = db_rows(db, f"SELECT closed_until FROM meters WHERE meter_id = '{meter}'")[0][0]
        assert starts[-1] + INTERVAL_S == closed_until
    substituted = db_rows(db, "SELECT COUNT(*), SUM(substituted) FROM intervals")[0]
    assert 0 < int(substituted[1]) < int(substituted[0]), "expected measured and substituted intervals"
    (tmp_path / "summary.json").write_text(json.dumps({"intervals": substituted[0],
                                                       "substituted": substituted[1]}))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_sigkill_gateway_against_contract_double(tmp_path: Path) -> None:
    gw = Signer.generate()
    gw.save(tmp_path / "gw1.key")
    with double_chain(tmp_path, gw) as (urls, readings):
        run_kills(tmp_path, urls, readings, seed=20261126)


@contextmanager
def node_chain(tmp_path: Path, dead: set[str] | None = None
               ) -> Iterator[tuple[list[str], ChainReadings, Any]]:
    """A real 4-node cluster; readings are compared on every node not in `dead`."""
    from carbonlab.bench.localcluster import LocalCluster

    dead = set() if dead is None else dead
    for attempt in range(3):   # free loopback ports can be taken by another process meanwhile
        root = tmp_path / f"try{attempt}"
        cluster = LocalCluster.create(root, n=4, gateways=1, meters_per_gateway=len(METERS),
                                      params={"reading_interval_s": INTERVAL_S},
                                      chain_id="carbonlab-gwkill")
        try:
            cluster.start_all()
            cluster.wait_ready(timeout_s=120)
            break
        except NodeError:
            cluster.stop()
            if attempt == 2:
                raise
    for name in ("genesis.json",):
        (tmp_path / name).write_bytes((root / name).read_bytes())
    assert cluster.genesis.gateway_by_id["gw1"].meters == METERS
    cluster.gateway_keys["gw1"].save(tmp_path / "gw1.key")
    try:
        urls = [cluster.url(m) for m in cluster.members]

        def readings() -> list[tuple[str, int, int]]:
            out: list[tuple[str, int, int]] = []
            for member in [m for m in cluster.members if m not in dead]:   # all hold the same
                rows: list[tuple[str, int, int]] = []
                offset = 0
                while True:
                    resp = httpx.get(f"{cluster.url(member)}/v1/readings",
                                     params={"limit": 10_000, "offset": offset}, timeout=30)
                    resp.raise_for_status()
                    page = resp.json()["readings"]
                    rows += [(r["meter_id"], r["interval_start"], r["seq"]) for r in page]
                    if len(page) < 10_000:
                        break
                    offset += len(page)
                rejected = httpx.get(f"{cluster.url(member)}/v1/rejections",
                                     params={"gateway": "gw1"}, timeout=30).json()["rejections"]
                assert rejected == [], f"{member} recorded rejections: {rejected}"
                if out:
                    assert sorted(rows) == sorted(out), f"{member} disagrees with {cluster.members[0]}"
                else:
                    out = rows
            return out

        yield urls, readings, cluster
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkill_gateway_against_real_node_cluster(tmp_path: Path) -> None:
    missing = node_missing()
    if missing:
        pytest.skip(f"needs the real node: {missing}")
    with node_chain(tmp_path) as (urls, readings, _):
        run_kills(tmp_path, urls, readings, seed=4242)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_gateway_fails_over_when_the_primary_node_dies(tmp_path: Path) -> None:
    """n1 (primary of view 0, first in the gateway's node list) is SIGKILLed mid-run: the gateway
    fails over to the other nodes and still gets every interval on the chain exactly once."""
    missing = node_missing()
    if missing:
        pytest.skip(f"needs the real node: {missing}")
    dead: set[str] = set()
    with node_chain(tmp_path, dead) as (urls, readings, cluster):
        def kill_primary(i: int) -> None:
            if i == 2:
                cluster.kill("n1")
                dead.add("n1")
        run_kills(tmp_path, urls, readings, seed=99, kills=8, after_kill=kill_primary)
