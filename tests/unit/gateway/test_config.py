"""GATEWAY.toml loading: good files parse into typed objects, bad ones name file and field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from carbonlab.gateway import config
from carbonlab.gateway.errors import ConfigError

GOOD = """
gateway_id = "gw1"
key_file = "keys/gw1.key"
genesis = "genesis.json"
data_dir = "data/gw1"
mode = "edge"
nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]
metrics_listen = "127.0.0.1:9108"
interval_s = 60
[uplink]
commit_timeout_s = 7.5
[substitution.m1]
max_co2_pct = 14.0
[hj212]
target = "127.0.0.1:9000"
pw = "123456"
[hj212.mn]
m1 = "010000A8900016F000169DC0"
[[meters]]
id = "m1"
register_map = "t100"
transport = "tcp"
host = "127.0.0.1"
port = 5020
[[meters]]
id = "m-2"
register_map = "float_inverse"
port = 5021
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "GATEWAY.toml"
    path.write_text(text)
    return path


def test_good_config(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.gateway_id == "gw1"
    assert cfg.key_file == tmp_path / "keys/gw1.key"
    assert cfg.db_path == tmp_path / "data/gw1/gateway.db"
    assert [m.id for m in cfg.meters] == ["m1", "m-2"]
    assert cfg.uplink.commit_timeout_s == 7.5
    assert cfg.uplink.poll_interval_s == 0.2
    assert cfg.max_potential == {"m1": config.MaxPotential(14.0, None)}
    assert cfg.hj212 is not None
    assert cfg.hj212.port == 9000
    assert cfg.hj212.mn == {"m1": "010000A8900016F000169DC0", "m-2": "m2"}


@pytest.mark.parametrize(("change", "message"), [
    (('mode = "edge"', 'mode = "cloud"'), "field 'mode': must be one of edge, direct, got 'cloud'"),
    (('mode = "edge"', 'mode = "direct"'), "mode = \"direct\" takes exactly one meter, got 2"),
    (('interval_s = 60', 'interval_s = 7'), "field 'interval_s': must divide an hour"),
    (('interval_s = 60', 'interval_s = 0'), "field 'interval_s': must be an integer 1..3600"),
    (('nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]', 'nodes = []'), "field 'nodes'"),
    (('nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]', 'nodes = ["127.0.0.1:8080"]'),
     "field 'nodes': [0]: invalid URL '127.0.0.1:8080': needs http:// or https:// and a host"),
    # these passed a startswith("http") check
    (('nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]', 'nodes = ["http://127.0.0.1:99999"]'),
     "field 'nodes': [0]: invalid URL 'http://127.0.0.1:99999': Port out of range"),
    (('nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]', 'nodes = ["http://"]'),
     "field 'nodes': [0]: invalid URL 'http://': needs http:// or https:// and a host"),
    (('nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]',
      'nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"]'),
     "field 'nodes': [1]: 'http://127.0.0.1:8080/' is given twice"),
    (('commit_timeout_s = 7.5', 'base_backoff_s = 100\nmax_backoff_s = 1'),
     "field 'uplink.base_backoff_s': must be at most uplink.max_backoff_s (1), got 100"),
    (('gateway_id = "gw1"', 'gateway_id = "gw1"\ncolour = "red"'), "field 'colour': unknown field"),
    (('commit_timeout_s = 7.5', 'commit_timeout_s = -1'), "field 'uplink.commit_timeout_s'"),
    (('commit_timeout_s = 7.5', 'retries = 3'), "field 'uplink.retries': unknown field"),
    (('[substitution.m1]', '[substitution.m9]'), "field 'substitution.m9': no meter 'm9'"),
    (('pw = "123456"', 'pw = "12"'), "field 'hj212.pw': HJ 212 passwords are 6 characters"),
    (('target = "127.0.0.1:9000"', 'target = "nowhere"'), "field 'hj212.target'"),
    (('m1 = "010000A8900016F000169DC0"', 'm1 = "bad mn!"'), "field 'hj212.mn.m1'"),
    (('metrics_listen = "127.0.0.1:9108"', 'metrics_listen = "9108"'), "field 'metrics_listen'"),
    (('port = 5021', 'port = 5021\nbaudrate = 9600'), "field 'baudrate'"),
    (('key_file = "keys/gw1.key"\n', ''), "field 'key_file': is required"),
])
def test_bad_config_names_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError, match=r"GATEWAY\.toml") as err:
        config.load(path)
    assert message in str(err.value)


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(write(tmp_path, "gateway_id = "))


@pytest.mark.parametrize("data", [b"gateway_id = \"gw\xe91\"\n", b"\xff\xfe"])
def test_not_utf8_is_one_error_naming_the_byte(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "GATEWAY.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    offset = data.index(b"\xe9") if b"\xe9" in data else 0
    assert str(err.value) == f"{path}: not UTF-8 text (invalid byte at offset {offset}): not a gateway config"


def test_dev_zero_is_refused_by_size() -> None:
    with pytest.raises(ConfigError, match=r"^/dev/zero: larger than 16,777,216 bytes: not a gateway config"):
        config.load(Path("/dev/zero"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read gateway config"):
        config.load(tmp_path / "nope.toml")



def test_to_toml_reads_back_equal(tmp_path: Path) -> None:
    """GATEWAY.toml is written from the typed config; what is written loads back equal."""
    cfg = config.load(write(tmp_path, GOOD))
    text = cfg.to_toml()
    copy = tmp_path / "copy.toml"
    copy.write_text(text)
    assert config.load(copy) == dataclasses.replace(cfg, path=copy)
    assert 'key_file = "keys/gw1.key"' in text
    assert "[substitution.m1]\nmax_co2_pct = 14.0\n" in text
    assert "[uplink]\ncommit_timeout_s = 7.5\n" in text
    assert "[hj212.mn]\n" in text


@pytest.mark.parametrize(("change", "message"), [
    (('commit_timeout_s = 7.5', 'commit_timeout_s = 0'),
     "field 'uplink.commit_timeout_s': must be above 0, got 0.0"),
    (('commit_timeout_s = 7.5', 'commit_timeout_s = 3601'),
     "field 'uplink.commit_timeout_s': must be a number 0..3600, got 3601"),
    (('commit_timeout_s = 7.5', 'commit_timeout_s = "7"'),
     "field 'uplink.commit_timeout_s': must be a number 0..3600, got '7'"),
    (('commit_timeout_s = 7.5', 'submit_wait_s = 31'),
     "field 'uplink.submit_wait_s': must be a number 0..30, got 31"),
    (('commit_timeout_s = 7.5', 'submit_wait_s = -1'),
     "field 'uplink.submit_wait_s': must be a number 0..30, got -1"),
    (('[uplink]\ncommit_timeout_s = 7.5', 'uplink = 3'), "field 'uplink': must be a table, got int"),
    (('max_co2_pct = 14.0', 'max_co2_pct = 140'),
     "field 'substitution.m1.max_co2_pct': must be a number 0..100, got 140"),
    (('max_co2_pct = 14.0', 'max_flow_m3_s = -1'),
     "field 'substitution.m1.max_flow_m3_s': must be a number 0..1000000, got -1"),
    (('max_co2_pct = 14.0', 'max_co2_pct = true'), "field 'substitution.m1.max_co2_pct': must be a number"),
    (('target = "127.0.0.1:9000"', 'target = "127.0.0.1:0"'),
     "field 'hj212.target': must be \"host:port\" with a port 1..65535, got '127.0.0.1:0'"),
    (('target = "127.0.0.1:9000"\n', ''), "field 'hj212.target': is required"),
    (('pw = "123456"', 'pw = "123456"\ncolour = 1'), "field 'hj212.colour': unknown field"),
    (('m1 = "010000A8900016F000169DC0"', 'm1 = "0' + "1" * 24 + '"'),
     "field 'hj212.mn.m1': must be 1-24 letters or digits"),
    (('m1 = "010000A8900016F000169DC0"', 'm7 = "A1"'), "field 'hj212.mn.m7': no meter 'm7' in [[meters]]"),
    (('metrics_listen = "127.0.0.1:9108"', 'metrics_listen = 9108'),
     "field 'metrics_listen': must be a non-empty string, got 9108"),
    (('gateway_id = "gw1"', 'gateway_id = ""'), "field 'gateway_id': must be a non-empty string, got ''"),
])
def test_each_table_refuses_a_bad_value_naming_file_and_dotted_field(
        tmp_path: Path, change: tuple[str, str], message: str) -> None:
    """[uplink], [substitution.<meter>] and [hj212] are read by the shared field layer (their rules
    declared on UplinkParams, MaxPotential and Hj212Forward): one error form, the dotted field."""
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert str(err.value).startswith(f"{path}: {message}")


def test_defaults_come_from_the_declared_fields(tmp_path: Path) -> None:
    text = GOOD.split("[uplink]")[0].replace('metrics_listen = "127.0.0.1:9108"\n', "") + \
        GOOD[GOOD.index("[[meters]]"):]
    cfg = config.load(write(tmp_path, text))
    assert cfg.uplink == config.UplinkParams()
    assert (cfg.metrics_listen, cfg.log_level, cfg.hj212, cfg.max_potential) == \
        ("127.0.0.1:9108", "info", None, {})


def test_an_ipv6_hj212_target_reads_back_equal(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD.replace('"127.0.0.1:9000"', '"[::1]:9000"')))
    assert cfg.hj212 is not None
    assert (cfg.hj212.host, cfg.hj212.port) == ("::1", 9000)
    copy = tmp_path / "copy.toml"
    copy.write_text(cfg.to_toml())
    assert config.load(copy) == dataclasses.replace(cfg, path=copy)
