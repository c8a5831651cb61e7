"""The node role writes NODE.toml through the node's model: the rendered file loads back as
the member's config (run through Ansible's own template module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonlab.node.config import load
from tests.unit.lab.role_template import render


@pytest.mark.slow
def test_node_role_template_renders_the_typed_config(tmp_path: Path) -> None:
    etc, var = tmp_path / "etc", tmp_path / "var"
    variables = {"item": {"member_id": "n3", "p2p_listen": "/ip4/198.18.0.3/tcp/4001",
                          "api_listen": "198.18.0.3:8080", "api_port": 8080},
                 "carbonlab_etc": str(etc), "carbonlab_var": str(var), "node_log_level": "warning"}
    dest = etc / "node-n3.toml"
    etc.mkdir()
    done = render("node", "node.toml.j2", dest, variables, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    config = load(dest)
    assert (config.member_id, config.api_host, config.api_port, config.log_level, config.ledger_sync) == \
        ("n3", "198.18.0.3", 8080, "warning", "full")
    assert config.key_file == etc / "keys" / "n3.key"
    assert config.genesis_file == etc / "genesis.json"
    assert config.data_dir == var / "n3"
    assert str(config.p2p_listen) == "/ip4/198.18.0.3/tcp/4001"
    assert dest.read_text().splitlines()[1:] == config.to_toml().splitlines()
