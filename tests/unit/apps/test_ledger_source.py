"""Unit curves and hourly CO2 read from a real ledger file (SQLite, signed and certified blocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonlab.apps.errors import InputError
from carbonlab.apps.forecast.series import Level, hourly
from carbonlab.apps.ledger import hourly_records, unit_limits, unit_points
from carbonlab.apps.planning.units import IntervalPoint, UnitLimits, fit_curve
from carbonlab.cli import main
from carbonlab.node.genesis import Genesis
from carbonlab.node.gwp import GwpSet
from carbonlab.node.ledger import Ledger
from tests.unit.node.factories import (
    Kit,
    make_genesis_json,
    make_kit,
    make_reading,
    signer_for,
    with_channels,
)
from tests.unit.node.query.small_ledger import D

CHANNELS = {"load": {"gross_mw": [0.0, 700.0]}}  # the meter reports its unit's gross load
LOADS = [240.0 + 12.0 * i for i in range(31)]
M1 = [
    with_channels(
        make_reading("m1", i + 1, D + 120 * i, co2_pct=10.5 + 0.002 * mw, flow_m3_s=0.4 * mw), gross_mw=mw
    )
    for i, mw in enumerate(LOADS)
]


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    kit = make_kit(meters={"m1": CHANNELS, "m2": CHANNELS})
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as led:
        led.commit(*kit.certified(1, [kit.batch("gw1", 1, M1[:15]).encode()]))
        led.commit(*kit.certified(2, [kit.batch("gw1", 2, M1[15:]).encode()]))
    return path


def test_the_unit_curve_is_fitted_from_the_committed_readings(ledger: Path) -> None:
    points = unit_points(ledger)
    assert list(points) == ["unit1"]
    expected = [IntervalPoint(r.co2_kg / 1000, r.gross_mwh or 0.0, r.interval_s / 3600) for r in M1]
    got = sorted(points["unit1"], key=lambda p: p.mwh)
    assert [p.co2_t for p in got] == pytest.approx([p.co2_t for p in expected], rel=1e-9)
    assert [p.mwh for p in got] == pytest.approx([p.mwh for p in expected], rel=1e-9)
    curve, report = fit_curve(got, unit="unit1")
    truth, _ = fit_curve(expected, unit="unit1")
    assert curve.t_per_mwh(400.0) == pytest.approx(truth.t_per_mwh(400.0), rel=1e-9)
    assert report.r2 > 0.999


def test_hourly_co2_from_the_ledger_rolls_up_like_the_readings(ledger: Path) -> None:
    records = hourly_records(ledger)
    series = hourly(records, Level.COMPANY, "acme")
    assert series.first_hour_s == D
    assert sum(series.kg) == pytest.approx(sum(r.co2_kg for r in M1), rel=1e-9)
    assert series.kg[0] == pytest.approx(sum(r.co2_kg for r in M1 if r.interval_start < D + 3600), rel=1e-9)


def test_plan_dispatch_fits_from_the_ledger_through_the_cli(
    ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = tmp_path / "units.json"
    units.write_text(
        '{"units": [{"unit": "unit1", "capacity_mw": 600, "min_mw": 240, "ramp_mw_per_h": 300,'
        ' "fuel_cost_per_mwh": 30}]}'
    )
    demand = tmp_path / "demand.csv"
    demand.write_text("hour,demand_mw\n0,300\n1,450\n2,600\n")
    png = tmp_path / "s.png"
    assert (
        main(
            [
                "plan",
                "dispatch",
                "--units",
                str(units),
                "--demand",
                str(demand),
                "--ledger",
                str(ledger),
                "--carbon-price",
                "50",
                "--png",
                str(png),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "fit unit1: CO2 t/h =" in out
    assert "(31 intervals" in out
    assert "optimal" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    demand.write_text("hour,demand_mw\n0,300\n1,lots\n")
    assert (
        main(["plan", "dispatch", "--units", str(units), "--demand", str(demand), "--ledger", str(ledger)])
        == 2
    )
    assert "line 3: demand_mw: must be a number, got 'lots'" in capsys.readouterr().err


def test_a_missing_ledger_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--ledger .*nope.sqlite: no such ledger file"):
        unit_points(tmp_path / "nope.sqlite")


def test_unit_limits_come_from_the_companies_genesis_declares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = make_genesis_json(meters={"m1": CHANNELS, "m2": CHANNELS})
    raw["companies"] = [
        {
            "id": "acme",
            "name": "Acme",
            "member": "n1",
            "plants": [
                {
                    "id": "plant1",
                    "name": "P1",
                    "units": [
                        {
                            "id": "unit1",
                            "name": "U1",
                            "capacity_mw": 620,
                            "min_mw": 230,
                            "ramp_mw_per_h": 310,
                            "fuel": "coal",
                        }
                    ],
                },
                {"id": "plant2", "name": "P2", "units": [{"id": "unit3", "name": "U3"}]},
            ],
        },
        {
            "id": "globex",
            "name": "Globex",
            "member": "n2",
            "plants": [{"id": "plant1", "name": "G1", "units": [{"id": "unit2", "name": "U2"}]}],
        },
    ]
    genesis = Genesis.from_json(raw)
    kit = Kit(
        genesis,
        {m: signer_for(m) for m in genesis.member_ids},
        {g.id: signer_for(g.id) for g in genesis.gateways},
    )
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as led:
        led.commit(*kit.certified(1, [kit.batch("gw1", 1, M1).encode()]))
    assert unit_limits(path) == {"unit1": UnitLimits("unit1", 620.0, 230.0, 310.0, "coal")}
    units = tmp_path / "units.json"
    units.write_text('{"units": [{"unit": "unit1", "fuel_cost_per_mwh": 30}]}')
    demand = tmp_path / "demand.csv"
    demand.write_text("hour,demand_mw\n0,320\n1,620\n")
    assert (
        main(
            [
                "plan",
                "dispatch",
                "--units",
                str(units),
                "--demand",
                str(demand),
                "--ledger",
                str(path),
                "--json",
            ]
        )
        == 0
    )
    assert max(json.loads(capsys.readouterr().out)["schedule_mw"][0]) == pytest.approx(620.0)


def test_a_co2e_curve_counts_ch4_by_the_named_gwp_set(tmp_path: Path) -> None:
    channels = {
        "gases": {"ch4": {"unit": "ppm", "basis": "dry", "range": [0.0, 500.0]}},
        "load": {"gross_mw": [0.0, 700.0]},
    }
    readings = [
        with_channels(
            make_reading("m1", i + 1, D + 120 * i, flow_m3_s=0.4 * mw), ch4=(40.0, "ppm", "dry"), gross_mw=mw
        )
        for i, mw in enumerate(LOADS[:8])
    ]
    kit = make_kit(meters={"m1": channels, "m2": channels})
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as led:
        led.commit(*kit.certified(1, [kit.batch("gw1", 1, readings).encode()]))
    co2 = sorted(p.co2_t for p in unit_points(path)["unit1"])
    ar5 = sorted(p.co2_t for p in unit_points(path, gwp=GwpSet.AR5)["unit1"])
    ar6 = sorted(p.co2_t for p in unit_points(path, gwp=GwpSet.AR6)["unit1"])
    want_co2 = sorted(r.co2_kg / 1000 for r in readings)
    assert co2 == pytest.approx(want_co2, rel=1e-9)
    assert ar5 == pytest.approx(
        sorted((r.co2_kg + 28.0 * (r.ch4_kg or 0.0)) / 1000 for r in readings), rel=1e-9
    )
    assert ar6 == pytest.approx(
        sorted((r.co2_kg + 29.8 * (r.ch4_kg or 0.0)) / 1000 for r in readings), rel=1e-9
    )
    assert all(a > c for a, c in zip(ar5, co2, strict=True))


def test_initial_output_in_the_units_file_limits_the_first_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units = tmp_path / "units.json"
    units.write_text(
        '{"units": [{"unit": "U1", "capacity_mw": 600, "min_mw": 200, "ramp_mw_per_h": 100,'
        ' "curve": {"a": 10, "b": 0.8, "c": 0}, "initial_mw": 250}]}'
    )
    demand = tmp_path / "demand.csv"
    demand.write_text("hour,demand_mw\n0,340\n1,440\n")
    args = ["plan", "dispatch", "--units", str(units), "--demand", str(demand), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["schedule_mw"][0] == pytest.approx([340.0, 440.0])
    demand.write_text("hour,demand_mw\n0,360\n1,440\n")  # 250 + 100 < 360
    assert main(args) == 2
    assert "infeasible (ramp and minimum-load limits)" in capsys.readouterr().err


def test_the_unit_curves_and_limits_come_from_a_members_api_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`plan dispatch --node URL --genesis G`: the member's `/v1/emissions/query` interval rows
    (over HTTP) fit the same curve as the ledger file, and genesis's companies give the limits."""
    from tests.unit.apps.chain_ledger import member_api

    raw = make_genesis_json(meters={"m1": CHANNELS, "m2": CHANNELS})
    raw["companies"] = [
        {"id": "acme", "name": "Acme", "member": "n1",
         "plants": [{"id": "plant1", "name": "P1", "units": [
             {"id": "unit1", "name": "U1", "capacity_mw": 620, "min_mw": 230, "ramp_mw_per_h": 310,
              "fuel": "coal"}]}, {"id": "plant2", "name": "P2", "units": [{"id": "unit3", "name": "U3"}]}]},
        {"id": "globex", "name": "Globex", "member": "n2",
         "plants": [{"id": "plant1", "name": "G1", "units": [{"id": "unit2", "name": "U2"}]}]},
    ]
    genesis = Genesis.from_json(raw)
    genesis_file = tmp_path / "genesis.json"
    genesis_file.write_text(json.dumps(raw))
    kit = Kit(genesis, {m: signer_for(m) for m in genesis.member_ids},
              {g.id: signer_for(g.id) for g in genesis.gateways})
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as led:
        led.commit(*kit.certified(1, [kit.batch("gw1", 1, M1).encode()]))
    units = tmp_path / "units.json"
    units.write_text('{"units": [{"unit": "unit1", "fuel_cost_per_mwh": 30}]}')
    demand = tmp_path / "demand.csv"
    demand.write_text("hour,demand_mw\n0,320\n1,620\n")
    base = ["plan", "dispatch", "--units", str(units), "--demand", str(demand), "--json"]
    assert main([*base, "--ledger", str(path)]) == 0
    by_file = json.loads(capsys.readouterr().out)
    with member_api(path) as url:
        assert main([*base, "--node", url, "--genesis", str(genesis_file)]) == 0
        by_api = json.loads(capsys.readouterr().out)
        # without genesis the API gives no limits, and the units JSON gives none either
        assert main([*base, "--node", url]) == 2
        assert "capacity_mw: is missing" in capsys.readouterr().err
    assert by_api["fits"] == by_file["fits"]
    assert by_api["fits"]["unit1"]["points"] == 31
    assert by_api["schedule_mw"] == by_file["schedule_mw"]
    assert max(by_api["schedule_mw"][0]) == pytest.approx(620.0)
    assert main([*base, "--ledger", str(path), "--node", "http://127.0.0.1:9"]) == 2
    assert "--readings/--ledger/--node: give one source of readings" in capsys.readouterr().err


def test_forecast_emissions_reads_the_hourly_co2_from_a_members_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`forecast emissions --node URL`: the member's hourly query rows (over HTTP) give the same
    forecast as the ledger file they come from."""
    from tests.unit.apps.chain_ledger import member_api

    kit = make_kit(params={"reading_interval_s": 3600})
    start = 1_767_225_600    # 2026-01-01T00:00Z
    readings = [make_reading("m1", i + 1, start + 3600 * i, interval_s=3600, valid_samples=3600,
                             co2_pct=10 + (i % 24) / 10, flow_m3_s=100 + (i % 24)) for i in range(72)]
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, kit.genesis) as led:
        proposal = kit.proposal(1, [kit.batch("gw1", 1, readings).encode()],
                                timestamp_ms=(start + 3600 * 73) * 1000)
        led.commit(proposal, kit.certify(proposal))
    base = ["forecast", "emissions", "--level", "unit", "--name", "unit1", "--horizon-h", "24", "--json"]
    assert main([*base, "--ledger", str(path)]) == 0
    by_file = json.loads(capsys.readouterr().out)
    with member_api(path) as url:
        assert main([*base, "--node", url]) == 0
        by_api = json.loads(capsys.readouterr().out)
        assert main([*base, "--ledger", str(path), "--node", url]) == 2
        assert "--node: with --records or --ledger goes with --position" in capsys.readouterr().err
    assert by_api == by_file
    assert len(by_api[0]["forecast"]["mean"]) == 24
    assert main(base) == 2
    assert "--records/--ledger/--node: give the readings" in capsys.readouterr().err
