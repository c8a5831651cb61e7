"""`bench gateway`'s harness: meter ports below the ephemeral range, the descriptor limit, the
sweep's meter counts."""

from __future__ import annotations

import argparse
import random
import resource
import socket

import pytest

from carbonlab.bench.gwbench import PollFigures, TcpPoint
from carbonlab.bench.gwmeters import raise_nofile, tcp_meters
from carbonlab.cli.bench_gateway_sweep import SWEEP, add_sweep_options, target_verdict
from carbonlab.errors import CarbonlabError
from carbonlab.loopback import ephemeral_range, free_loopback_ports


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ports = free_loopback_ports(300, random.Random(7))
    assert len(set(ports)) == 300
    assert all(port < ephemeral_range()[0] for port in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[0]))


def test_tcp_meters_are_on_loopback_at_1_hz_with_unique_ids() -> None:
    meters = tcp_meters(12, "t100")
    assert {m["host"] for m in meters} == {"127.0.0.1"}
    assert {m["sample_period_s"] for m in meters} == {1.0}
    assert len({m["id"] for m in meters}) == len({m["port"] for m in meters}) == 12


def test_the_descriptor_limit_is_raised_to_the_hard_one_or_refused_naming_it() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        before, after = raise_nofile(10)
        assert before == soft
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == after >= before
        if hard != resource.RLIM_INFINITY:
            with pytest.raises(CarbonlabError, match="hard RLIMIT_NOFILE"):
                raise_nofile(hard + 1)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(("argv", "counts"), [([], None), (["--sweep"], SWEEP),
                                              (["--sweep", "10,200"], (10, 200))])
def test_sweep_counts(argv: list[str], counts: tuple[int, ...] | None) -> None:
    parser = argparse.ArgumentParser()
    add_sweep_options(parser)
    assert parser.parse_args(argv).sweep == counts


@pytest.mark.parametrize("bad", ["ten", "0", "100,-1", "50000", ","])
def test_bad_sweep_counts_are_refused_naming_the_option(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_sweep_options(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--sweep", bad])
    assert "--sweep" in capsys.readouterr().err


def _point(polls_s: float, ok: float, share: float) -> TcpPoint:
    return TcpPoint(1000, PollFigures(polls_s, ok, 1.0, 2.0, share, 0), None, 0.3, 1.0)


@pytest.mark.parametrize(("point", "verdict"), [
    (_point(1000.0, 1.0, 0.30), "met"),
    (_point(995.0, 1.0, 0.60), "not met"),
    (_point(199.0, 0.0, 0.16), "not measured"),      # every poll timed out: no verdict
    (_point(1000.0, 0.5, 0.10), "not measured"),
])
def test_the_target_is_judged_only_where_every_meter_was_polled(point: TcpPoint, verdict: str) -> None:
    assert target_verdict(point).startswith(verdict + " (")
