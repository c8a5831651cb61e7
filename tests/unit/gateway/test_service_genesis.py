"""The gateway refuses to start when its config and genesis disagree, naming what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carbonlab.gateway import config
from carbonlab.gateway.errors import ConfigError
from carbonlab.gateway.service import meter_specs
from carbonlab.node.crypto import Signer
from carbonlab.node.genesis import Genesis

GW = Signer.from_seed(bytes([1]) * 32)


def genesis(meters: list[str], gw_meters: list[str], basis: str = "dry",
            **extra: object) -> Genesis:
    return Genesis.from_json({
        "chain_id": "c", "n": 1, "f": 0,
        "members": [{"id": "n1", "organisation": "o", "role": "verifier",
                     "public_key": Signer.from_seed(bytes(32)).public_key.hex()}],
        "gateways": [{"id": "gw1", "public_key": GW.public_key.hex(), "meters": gw_meters}],
        "meters": [{"id": m, "company": "c", "plant": "p", "unit": "u", "stack": "s",
                    "co2_basis": basis, "ranges": {"co2_pct": [0, 20]}, **extra} for m in meters],
    })


def cfg(tmp_path: Path, gateway_id: str = "gw1") -> config.GatewayConfig:
    path = tmp_path / "GATEWAY.toml"
    path.write_text(f'gateway_id = "{gateway_id}"\nkey_file = "k"\ngenesis = "g.json"\n'
                    'data_dir = "d"\nnodes = ["http://127.0.0.1:1"]\n'
                    '[substitution.m1]\nmax_flow_m3_s = 700.0\n'
                    '[[meters]]\nid = "m1"\nregister_map = "t100"\nport = 5020\n')
    return config.load(path)


def test_specs_take_basis_and_ranges_from_genesis(tmp_path: Path) -> None:
    (spec,) = meter_specs(cfg(tmp_path), genesis(["m1"], ["m1"]), GW)
    assert spec.basis.value == "dry"
    assert spec.max_co2_pct == 20.0          # the genesis range's top when not configured
    assert spec.max_flow_m3_s == 700.0


def test_unknown_gateway(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'gw9' is not a gateway"):
        meter_specs(cfg(tmp_path, "gw9"), genesis(["m1"], ["m1"]), GW)


def test_wrong_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not the key genesis names"):
        meter_specs(cfg(tmp_path), genesis(["m1"], ["m1"]), Signer.generate())


def test_meter_not_assigned(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not let gateway 'gw1' report for it"):
        meter_specs(cfg(tmp_path), genesis(["m1", "m2"], ["m2"]), GW)


def test_close_delay_covers_the_slowest_poll(tmp_path: Path) -> None:
    from carbonlab.gateway.service import close_delay_s

    c = cfg(tmp_path)   # timeout_s 1.0, retries 1 (defaults): 2 s + 1 s flush + 0.5 s
    assert close_delay_s(c) == 3.5


def test_metrics_port_in_use_is_a_config_error(tmp_path: Path) -> None:
    import socket

    from carbonlab.gateway.service import GatewayService

    GW.save(tmp_path / "k")
    genesis(["m1"], ["m1"]).save(tmp_path / "g.json")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        c = cfg(tmp_path)
        text = c.path.read_text().replace('nodes = ', f'metrics_listen = "127.0.0.1:{port}"\nnodes = ')
        c.path.write_text(text)
        with pytest.raises(ConfigError, match="field 'metrics_listen': cannot listen on"):
            GatewayService(config.load(c.path))     # refused before anything is created
    assert not (tmp_path / "d").exists()


def _run_gateway(tmp_path: Path, gateway_id: str = "gw1",
                 data_dir: str = "d") -> subprocess.CompletedProcess[str]:
    """A real `carbonlab gateway run` on a config whose key and genesis exist."""
    GW.save(tmp_path / "k")
    genesis(["m1"], ["m1"]).save(tmp_path / "g.json")
    c = cfg(tmp_path, gateway_id)
    c.path.write_text(c.path.read_text().replace('data_dir = "d"', f'data_dir = "{data_dir}"')
                      .replace('nodes = ', 'metrics_listen = ""\nnodes = '))
    return subprocess.run([str(Path(sys.executable).parent / "carbonlab"), "gateway", "run", "--config",
                           str(c.path)], capture_output=True, text=True, timeout=60, check=False)


def test_a_config_refused_leaves_no_data_dir_behind(tmp_path: Path) -> None:
    done = _run_gateway(tmp_path, "gw9")
    assert done.returncode == 2
    assert "'gw9' is not a gateway" in done.stderr
    assert not (tmp_path / "d").exists()          # it was created, with an empty gateway.db, first


@pytest.mark.parametrize(("data_dir", "problem"), [
    ("afile", "exists and is not a directory"),
    ("/dev/null", "exists and is not a directory"),
    ("afile/sub", "cannot be created: {tmp}/afile is not a directory"),
])
def test_an_unusable_data_dir_is_a_clean_error(tmp_path: Path, data_dir: str, problem: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    done = _run_gateway(tmp_path, data_dir=data_dir)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    shown = data_dir if data_dir.startswith("/") else f"{tmp_path}/{data_dir}"
    assert (f"field 'data_dir': {shown}: {problem.format(tmp=tmp_path)}") in done.stderr


CH4 = {"ch4": {"unit": "ppm", "basis": "dry", "range": [0, 200]}}


def test_specs_take_the_channels_genesis_declares(tmp_path: Path) -> None:
    (plain,) = meter_specs(cfg(tmp_path), genesis(["m1"], ["m1"]), GW)
    assert plain.channels == ("co2_pct", "o2_pct", "h2o_pct", "flow_m3_s", "temp_c",
                              "pressure_kpa")   # t100 has CH4, but genesis decides
    (spec,) = meter_specs(cfg(tmp_path), genesis(["m1"], ["m1"], gases=CH4,
                                                 load={"gross_mw": [0, 700]}), GW)
    assert spec.channels[-2:] == ("ch4", "gross_mw")


@pytest.mark.parametrize(("extra", "message"), [
    ({"gases": {"ch4": {"unit": "mg/m3", "basis": "dry", "range": [0, 200]}}},
     "field 'channels.ch4_ppm': reads ppm dry, genesis declares mg/m3 dry"),
    ({"gases": {"ch4": {"unit": "ppm", "basis": "wet", "range": [0, 200]}}},
     "field 'channels.ch4_ppm': reads ppm dry, genesis declares ppm wet"),
])
def test_a_channel_unlike_genesis_is_refused_naming_the_field(
        tmp_path: Path, extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        meter_specs(cfg(tmp_path), genesis(["m1"], ["m1"], **extra), GW)


def test_a_channel_the_map_lacks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "GATEWAY.toml"
    path.write_text(cfg(tmp_path).path.read_text().replace('"t100"', '"daq_4_20ma"'))
    gases = {"n2o": {"unit": "ppm", "basis": "dry", "range": [0, 50]}}
    with pytest.raises(ConfigError, match=r"genesis declares a n2o channel .* the map has none"):
        meter_specs(config.load(path), genesis(["m1"], ["m1"], gases=gases), GW)
