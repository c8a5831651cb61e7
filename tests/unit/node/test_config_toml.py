"""NODE.toml is written from the typed config (`NodeConfig.to_toml`) and reads back equal."""

from __future__ import annotations

from pathlib import Path

import multiaddr

from carbonlab.bench.localcluster import LocalCluster
from carbonlab.fields import HostPort
from carbonlab.node.config import NodeConfig, load
from carbonlab.node.p2p.settings import P2PSettings


def _config(path: Path) -> NodeConfig:
    return NodeConfig(
        path=path, member_id="n1", key_file=path.parent / "keys" / "n1.key",
        genesis_file=Path("/etc/carbonlab/genesis.json"), data_dir=path.parent / "data" / "n1",
        p2p_listen=multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/4001"), api_listen=HostPort("::1", 8080),
        log_level="debug", ledger_sync="normal", api_body_timeout_s=7.5,
        peer_addrs={"n2": multiaddr.Multiaddr("/ip4/127.0.0.2/tcp/4001")},
        p2p=P2PSettings(heartbeat_s=0.5, inbound_buffer=77))


def test_to_toml_reads_back_equal(tmp_path: Path) -> None:
    config = _config(tmp_path / "n1.toml")
    config.path.write_text(config.to_toml())
    assert load(config.path) == config
    text = config.path.read_text()
    assert 'key_file = "keys/n1.key"' in text          # relative to the file, as an operator writes it
    assert 'genesis = "/etc/carbonlab/genesis.json"' in text
    assert 'api_listen = "[::1]:8080"' in text
    assert "api_body_timeout_s = 7.5" in text


def test_to_toml_writes_only_settings_that_differ_from_the_defaults(tmp_path: Path) -> None:
    text = _config(tmp_path / "n1.toml").to_toml()
    assert "[p2p]\nheartbeat_s = 0.5\ninbound_buffer = 77\n" in text
    assert "dial_timeout_s" not in text


def test_local_cluster_writes_node_toml_through_the_model(tmp_path: Path) -> None:
    cluster = LocalCluster.create(tmp_path, n=4, gateways=1, meters_per_gateway=1, ledger_sync="normal")
    for member in cluster.members:
        config = load(tmp_path / f"{member}.toml")
        assert (config.member_id, config.api_port, config.ledger_sync) == \
            (member, cluster.api_ports[member], "normal")
        assert config.key_file == tmp_path / "keys" / f"{member}.key"
        assert config.to_toml() == (tmp_path / f"{member}.toml").read_text()
