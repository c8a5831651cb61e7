"""The seeded load profile: deterministic, physically consistent, with every phase."""

from __future__ import annotations

import itertools
import statistics

import pytest

from carbonlab.rig.meters.profile import CO2_MAX_DRY_PCT, Phase, ProfileSpec, UnitProfile


def _run(spec: ProfileSpec, seed: int, seconds: int) -> list:  # type: ignore[type-arg]
    profile = UnitProfile(spec, seed)
    return [profile.step(t) for t in range(seconds)]


def test_same_seed_same_seconds() -> None:
    a, b = _run(ProfileSpec(), 3, 2000), _run(ProfileSpec(), 3, 2000)
    assert [p.values for p in a] == [p.values for p in b]
    assert [p.values for p in a] != [p.values for p in _run(ProfileSpec(), 4, 2000)]


def test_every_phase_occurs_with_frequent_trips() -> None:
    spec = ProfileSpec(trips_per_day=200.0, hold_s=(60, 120), off_s=(60, 120), startup_s=120)
    phases = {p.phase for p in _run(spec, 1, 20000)}
    assert phases == set(Phase)


def test_co2_and_o2_move_against_each_other_and_flow_follows_load() -> None:
    spec = ProfileSpec(noise=0.0, trips_per_day=0.0, hold_s=(60, 120))
    points = [p for p in _run(spec, 2, 20000) if p.load > 0]
    loads = [p.load for p in points]
    assert max(loads) - min(loads) > 0.2
    co2 = [p.values["co2_pct"] for p in points]
    o2 = [p.values["o2_pct"] for p in points]
    flow = [p.values["flow_m3_s"] for p in points]
    assert statistics.correlation(co2, o2) < -0.99
    assert statistics.correlation(flow, loads) > 0.99
    assert max(co2) < CO2_MAX_DRY_PCT


def test_dry_basis_reads_higher_than_wet() -> None:
    wet = _run(ProfileSpec(noise=0.0, co2_basis="wet"), 5, 10)[-1].values["co2_pct"]
    dry = _run(ProfileSpec(noise=0.0, co2_basis="dry"), 5, 10)[-1].values["co2_pct"]
    assert dry > wet


def test_a_tripped_unit_shows_air_and_a_cold_start_starts_up() -> None:
    spec = ProfileSpec(noise=0.0, trips_per_day=500.0, off_s=(60, 60))
    tripped = [p for p in _run(spec, 1, 5000) if p.phase is Phase.TRIP]
    assert tripped
    for point in tripped:
        assert point.values["o2_pct"] == pytest.approx(20.9)
        assert point.values["co2_pct"] < 0.1
    cold = _run(ProfileSpec(initial_load=0.0), 1, 5)
    assert {p.phase for p in cold} == {Phase.STARTUP}
    assert cold[-1].load < 0.01


def test_ramps_respect_the_ramp_rate() -> None:
    spec = ProfileSpec(trips_per_day=0.0, hold_s=(30, 60))
    points = _run(spec, 9, 5000)
    steps = [abs(b.load - a.load) for a, b in itertools.pairwise(points)
             if a.phase is not Phase.TRIP and b.phase is not Phase.TRIP]
    assert max(steps) <= spec.ramp_per_min / 60.0 + 1e-12
