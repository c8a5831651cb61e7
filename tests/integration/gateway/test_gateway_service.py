"""The gateway process end to end with emulated meters (real Modbus TCP): a chain outage fills the
outbox (metrics show it), the outbox drains in batch_seq order once a node answers, every reading
is forwarded as an HJ 212 minute frame, and the metrics named in INTERFACES.md are served."""

from __future__ import annotations

import socket
import threading
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest

from carbonlab.gateway import hj212
from carbonlab.loopback import free_loopback_ports
from carbonlab.node.crypto import Signer
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

METERS = ("m1", "m2")
INTERVAL_S = 2


class FrameSink:
    """A stand-in authority platform: a TCP listener collecting HJ 212 frames."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.data = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(0.2)
            with conn:
                while not self._stop.is_set():
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    self.data.extend(chunk)

    def frames(self) -> list[bytes]:
        return [f + b"\r\n" for f in bytes(self.data).split(b"\r\n") if f]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.sock.close()


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_outage_fills_outbox_then_drains_in_order_with_metrics_and_hj212(tmp_path: Path) -> None:
    gw_key = Signer.generate()
    gw_key.save(tmp_path / "gw1.key")
    write_genesis(tmp_path / "genesis.json", gw_key, METERS, members=[Signer.generate()],
                  interval_s=INTERVAL_S)
    *meter_ports, metrics_port, node_port = free_loopback_ports(len(METERS) + 2)
    write_meters_yaml(tmp_path / "meters.yaml", METERS, meter_ports, sample_period_s=0.2)
    sink = FrameSink()
    write_gateway_toml(tmp_path / "gateway.toml", nodes=[f"http://127.0.0.1:{node_port}"],
                       meters=METERS, ports=meter_ports, interval_s=INTERVAL_S, sample_period_s=0.2,
                       metrics_port=metrics_port,
                       extra=f'[hj212]\ntarget = "127.0.0.1:{sink.port}"\npw = "123456"\n')
    chain = ChainState()
    with ExitStack() as stack:
        stack.callback(sink.close)
        meters = Proc([*CARBONLAB, "meters", "serve", "--config", "meters.yaml"], tmp_path,
                      tmp_path / "meters.log")
        stack.callback(meters.stop)
        for port in meter_ports:
            wait_for_port(port)
        gw = Proc([*CARBONLAB, "gateway", "run", "--config", "gateway.toml"], tmp_path,
                  tmp_path / "gateway.log")
        stack.callback(gw.stop)
        wait_for_port(metrics_port)
        # the chain is down: batches pile up in the outbox
        def outbox_depth() -> float:
            return value(metrics(metrics_port), "carbonlab_gateway_outbox_depth")

        def piled_up() -> str | None:
            got = metrics(metrics_port)
            return got if value(got, "carbonlab_gateway_outbox_depth") >= 4 else None

        text = wait_until(piled_up, 60, "4 batches piled up in the outbox", poll_s=0.5)
        assert value(text, "carbonlab_gateway_outbox_depth") >= 4
        assert value(text, "carbonlab_gateway_outbox_oldest_age_seconds") > 0
        node = f"http://127.0.0.1:{node_port}"
        assert f'carbonlab_gateway_uploads_total{{node="{node}",result="error"}}' in text
        for name in ("carbonlab_gateway_polls_total", "carbonlab_gateway_poll_latency_seconds_bucket",
                     "carbonlab_gateway_intervals_total"):
            assert name in text, name
        # a node comes up on the configured address: the outbox drains, oldest first
        with ThreadedDouble(DoubleNode(chain), port=node_port):
            wait_until(lambda: outbox_depth() == 0 and chain.order, 60, "the outbox drained onto the chain",
                       poll_s=0.3)
            assert gw.stop() == 0
    seqs = [seq for _, seq in chain.order]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "batches were not committed in order"
    assert not chain.rejected
    assert len(seqs) >= 4
    # every committed reading was also forwarded as a strict HJ 212-2017 minute frame
    frames = [hj212.decode(f) for f in sink.frames()]
    assert frames, "no HJ 212 frame reached the platform"
    assert {f.cn for f in frames} == {hj212.CN_MINUTE}
    assert {f.get("MN") for f in frames} == set(METERS)
    committed = sum(len(b.readings) for b in chain.committed.values())
    assert len(frames) >= committed - len(METERS)  # frames of the last seal may still be in flight
