"""NODE.toml validation: every error names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.node.config import ConfigError, load
from carbonlab.node.genesis import Genesis

GOOD = '''member_id = "n1"
key_file = "keys/n1.key"
genesis = "genesis.json"
data_dir = "data/n1"
p2p_listen = "/ip4/127.0.0.1/tcp/4001"
api_listen = "127.0.0.1:8080"
log_level = "debug"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "NODE.toml"
    path.write_text(text)
    return path


def test_good_config_resolves_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD + '[p2p]\nheartbeat_s = 0.25\nqueue_max_messages = 100\n'))
    assert cfg.key_file == tmp_path / "keys/n1.key"
    assert cfg.ledger_path == tmp_path / "data/n1/ledger.sqlite"
    assert (cfg.api_host, cfg.api_port) == ("127.0.0.1", 8080)
    assert cfg.p2p.heartbeat_s == 0.25
    assert cfg.p2p.queue_max_messages == 100
    assert cfg.ledger_sync == "full"


@pytest.mark.parametrize(("text", "field"), [
    (GOOD.replace('member_id = "n1"\n', ""), "member_id"),
    (GOOD.replace('"127.0.0.1:8080"', '"localhost"'), "api_listen"),
    (GOOD.replace('"127.0.0.1:8080"', '"127.0.0.1:70000"'), "api_listen"),
    (GOOD.replace('"/ip4/127.0.0.1/tcp/4001"', '"/ip4/127.0.0.1/udp/4001"'), "p2p_listen"),
    (GOOD.replace('"/ip4/127.0.0.1/tcp/4001"', '"not an address"'), "p2p_listen"),
    (GOOD.replace('"debug"', '"chatty"'), "log_level"),
    (GOOD + 'ledger_sync = "off"\n', "ledger_sync"),
    (GOOD + "colour = 3\n", "colour"),
    (GOOD + "[p2p]\nheartbeat_s = -1\n", "p2p.heartbeat_s"),
    (GOOD + "[p2p]\nmax_frame_bytes = 1\n", "p2p.max_frame_bytes"),
    (GOOD + '[peers]\nn2 = "garbage"\n', "peers.n2"),
    ("member_id = ", "TOML"),
])
def test_errors_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)
    assert field in str(info.value)


def test_peers_come_from_genesis_and_a_wrong_peer_id_is_refused(tmp_path: Path) -> None:
    cluster = LocalCluster.create(tmp_path / "c", 4)
    cfg = load(cluster.root / "n1.toml")
    genesis = Genesis.load(cfg.genesis_file)
    specs = cfg.peer_specs(genesis)
    assert [s.member_id for s in specs] == ["n2", "n3", "n4"]
    assert str(specs[0].addr) == f"/ip4/127.0.0.1/tcp/{cluster.p2p_ports['n2']}"
    n3 = genesis.members[2].peer_id
    bad = (cluster.root / "n1.toml").read_text() + f'[peers]\nn2 = "/ip4/127.0.0.1/tcp/9/p2p/{n3}"\n'
    (cluster.root / "n1.toml").write_text(bad)
    with pytest.raises(ConfigError, match=r"peers\.n2"):
        load(cluster.root / "n1.toml").peer_specs(genesis)
    other = (cluster.root / "n1.toml").read_text().replace('member_id = "n1"', 'member_id = "n9"')
    (cluster.root / "n1.toml").write_text(other.split("[peers]")[0])
    with pytest.raises(ConfigError, match="member_id"):
        load(cluster.root / "n1.toml").peer_specs(genesis)


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace('genesis = "genesis.json"\n', ""), "field 'genesis': is required"),
    (GOOD + "[p2p]\nheartbeat_s = 0\n", "field 'p2p.heartbeat_s': must be above 0, got 0.0"),
    (GOOD + "[p2p]\nheartbeat_s = 3601\n", "field 'p2p.heartbeat_s': must be a number 0..3600, got 3601"),
    (GOOD + "[p2p]\nmax_frame_bytes = 1\n",
     "field 'p2p.max_frame_bytes': must be an integer 1024..268435456, got 1"),
    (GOOD + "[p2p]\ninbound_buffer = true\n", "field 'p2p.inbound_buffer': must be an integer"),
    (GOOD.replace('"127.0.0.1:8080"', '"localhost"'),
     "field 'api_listen': must be \"host:port\" with a port 1..65535, got 'localhost'"),
    (GOOD.replace('"n1"', '"' + "x" * 65 + '"'), "field 'member_id': longer than 64 characters"),
    (GOOD.replace('"debug"', '"chatty"'), "field 'log_level': must be one of debug, info, warning, error"),
    (GOOD + "peers = 3\n", "field 'peers': must be a table, got int"),
    (GOOD + '[peers]\nn2 = "garbage"\n', "field 'peers.n2': not a multiaddr"),
    (GOOD.replace('data_dir = "data/n1"', "data_dir = 5"), "field 'data_dir': must be a non-empty string"),
])
def test_a_bad_value_is_refused_naming_file_and_dotted_field(tmp_path: Path, text: str, message: str) -> None:
    """NODE.toml is read by the shared field layer: one error form, `<file>: field '<dotted>': ...`."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_api_listen_takes_an_ipv6_host_in_brackets(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD.replace('"127.0.0.1:8080"', '"[::1]:8081"')))
    assert (cfg.api_host, cfg.api_port) == ("::1", 8081)
