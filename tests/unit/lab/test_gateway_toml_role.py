"""The gateway role writes GATEWAY.toml through the gateway's model, from the inventory the
lab builds: the rendered file loads back as that gateway's config, and a bad instance fails
on the controller naming the field."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from carbonlab.gateway import config
from carbonlab.gateway.errors import ConfigError
from carbonlab.lab.ansible_run import PLAYBOOKS
from tests.unit.lab.role_template import render


def _filter_plugin() -> ModuleType:
    """The Ansible filter plugin as a module (it is a file Ansible loads, not in a package)."""
    spec = importlib.util.spec_from_file_location(
        "carbonlab_config_filters", PLAYBOOKS / "filter_plugins" / "carbonlab_config.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INSTANCE = {"gateway_id": "gw-a", "mode": "edge", "interval_s": 5,
            "nodes": ["http://198.18.0.2:8080", "http://198.18.0.3:8080"],
            "metrics_listen": "198.18.0.9:9108", "metrics_port": 9108,
            "meters": [{"id": "a-u1-s1", "register_map": "t100", "sample_period_s": 1.0, "timeout_s": 1.0,
                        "transport": "tcp", "host": "198.18.0.20", "port": 5020, "device_id": 1},
                       {"id": "x-u1-s1", "register_map": "t100", "sample_period_s": 0.5, "timeout_s": 1.0,
                        "transport": "rtu", "serial_port": "/dev/ttyUSB0", "baudrate": 19200,
                        "parity": "E", "stopbits": 1, "bytesize": 8, "device_id": 3}]}


@pytest.mark.slow
def test_gateway_role_template_renders_the_typed_config(tmp_path: Path) -> None:
    etc, var = tmp_path / "etc", tmp_path / "var"
    etc.mkdir()
    dest = etc / "gateway-gw-a.toml"
    variables = {"item": INSTANCE, "carbonlab_etc": str(etc), "carbonlab_var": str(var)}
    done = render("gateway", "gateway.toml.j2", dest, variables, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    cfg = config.load(dest)
    assert (cfg.gateway_id, cfg.mode, cfg.interval_s, cfg.metrics_listen) == \
        ("gw-a", "edge", 5, "198.18.0.9:9108")
    assert cfg.nodes == tuple(INSTANCE["nodes"])
    assert (cfg.key_file, cfg.genesis, cfg.data_dir) == (etc / "keys" / "gw-a.key", etc / "genesis.json",
                                                         var / "gw-a")
    assert [(m.id, m.baudrate, m.parity, m.sample_period_s) for m in cfg.meters] == \
        [("a-u1-s1", 9600, "N", 1.0), ("x-u1-s1", 19200, "E", 0.5)]
    assert dest.read_text().splitlines()[1:] == cfg.to_toml().splitlines()


def test_a_bad_gateway_instance_fails_on_the_controller_naming_the_field(tmp_path: Path) -> None:
    bad = {**INSTANCE, "meters": [{**INSTANCE["meters"][1], "baudrate": 300}]}
    with pytest.raises(ConfigError, match="field 'baudrate': must be one of"):
        _filter_plugin().carbonlab_gateway_toml(bad, str(tmp_path / "etc"), str(tmp_path / "var"))
