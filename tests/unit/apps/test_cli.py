"""`carbonlab plan pathway`, `forecast emissions` and `forecast price` end to end through `main`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from carbonlab.cli import main

JAN1_2025 = 1_735_689_600


def test_forecast_emissions_prints_the_year_end_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["time,company,plant,unit,co2_kg"]
    for h in range(24 * 20):
        kg = 4000 * (1 + 0.3 * math.sin(2 * math.pi * (h % 24) / 24)) + 37 * ((h * 7919) % 11)
        rows.append(f"{JAN1_2025 + 3600 * h},acme,p1,u1,{kg:.1f}")
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    png = tmp_path / "e.png"
    args = [
        "forecast",
        "emissions",
        "--records",
        str(tmp_path / "r.csv"),
        "--level",
        "company",
        "--horizon-h",
        "48",
        "--allowance-t",
        "20000",
        "--price",
        "80",
        "--penalty-multiple",
        "5",
        "--paths",
        "500",
        "--png",
        str(png),
    ]
    assert main([*args, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["name"] == "acme"
    assert len(entry["forecast"]["mean"]) == 48
    year_end = entry["year_end"]
    assert year_end["year"] == 2025
    assert year_end["expected_t"] > 30_000  # ~96 t a day all year
    assert year_end["shortfall_probability"] == 1.0
    assert year_end["expected_cost"] == pytest.approx(year_end["expected_shortfall_t"] * 400)
    assert png.stat().st_size > 10_000
    assert main(args) == 0
    assert "against 20,000.0 t allowance: shortfall P=1.000" in capsys.readouterr().out


def test_forecast_price_refuses_a_bad_file_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.csv").write_text("date,price,currency\n2025-01-02,80,CNY\n2025-01-03,-1,CNY\n")
    assert main(["forecast", "price", "--csv", str(tmp_path / "p.csv")]) == 2
    assert "line 3: price: must be a number in [0.01, 1e+06] per tonne, got '-1'" in capsys.readouterr().err
    assert (
        main(
            [
                "forecast",
                "price",
                "--generate",
                "5",
                "--days",
                "120",
                "--write-csv",
                str(tmp_path / "g.csv"),
                "--weeks",
                "2",
            ]
        )
        == 0
    )
    assert "ARIMA(1,1,0)" in capsys.readouterr().out
    assert main(["forecast", "price", "--csv", str(tmp_path / "g.csv"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["median"]) == 20


def test_plan_pathway_prints_each_year_and_the_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "u.json").write_text(
        json.dumps(
            {
                "units": [
                    {
                        "unit": "coal",
                        "capacity_mw": 100,
                        "min_mw": 40,
                        "ramp_mw_per_h": 50,
                        "fuel_cost_per_mwh": 10,
                        "curve": {"a": 0, "b": 1.0, "c": 0},
                        "options": {"retrofit_cost": 2e5, "retrofit_cut": 0.5, "availability": 1.0},
                    },
                    {
                        "unit": "gas",
                        "capacity_mw": 100,
                        "min_mw": 20,
                        "ramp_mw_per_h": 100,
                        "fuel_cost_per_mwh": 40,
                        "curve": {"a": 0, "b": 0.4, "c": 0},
                        "options": {"retire_cost": 1e6, "availability": 1.0},
                    },
                ]
            }
        )
    )
    (tmp_path / "y.csv").write_text("year,demand_mwh\n2026,500000\n2027,500000\n2028,500000\n")
    args = [
        "plan",
        "pathway",
        "--units",
        str(tmp_path / "u.json"),
        "--demand",
        str(tmp_path / "y.csv"),
        "--first-cap-t",
        "500000",
        "--decline",
        "0.25",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "  2028 " in out
    assert "actions: " in out
    (tmp_path / "u.json").write_text('{"units": [{"unit": "coal", "capacity_mw": 100, "min_mw": 40}]}')
    assert main(args) == 2
    assert "units[0] (coal): ramp_mw_per_h: is missing" in capsys.readouterr().err


def test_the_plan_and_forecast_commands_import_no_heavy_library_until_they_run() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from carbonlab.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('scipy', 'statsmodels', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
