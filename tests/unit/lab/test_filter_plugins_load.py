"""The playbooks' filter plugins load light. Ansible loads every filter plugin in each worker
process that renders a template (one per host and task): a plugin that imported py-libp2p at
load time cost about 1 s of CPU per worker, three quarters of a lab's provisioning. Behaviour,
not time: what a worker imports is checked; the times are in docs/performance.md."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from carbonlab.lab.ansible_run import PLAYBOOKS

HEAVY = ("libp2p", "trio", "aioquic", "httpx", "pymodbus", "cryptography", "nacl", "sqlite3")

LOAD = """
import importlib.util, json, sys
from pathlib import Path
for path in sorted(Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location("ansible_filter_" + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.FilterModule().filters()
print(json.dumps(sorted(sys.modules)))
"""

RENDER = """
import importlib.util, json, sys
from pathlib import Path
path = Path(sys.argv[1]) / "carbonlab_config.py"
spec = importlib.util.spec_from_file_location("ansible_filter_config", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
node = module.FilterModule().filters()["carbonlab_node_toml"]
text = node({"member_id": "n2", "p2p_listen": "/ip4/127.0.0.1/tcp/23011",
             "api_listen": "127.0.0.1:23012"}, "/etc/carbonlab", "/var/lib/carbonlab", "info")
print(json.dumps({"toml": text, "modules": sorted(sys.modules)}))
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, str(PLAYBOOKS / "filter_plugins")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def test_loading_every_filter_plugin_imports_no_carbonlab_and_no_heavy_library() -> None:
    modules = json.loads(_run(LOAD))
    assert [m for m in modules if m.split(".")[0] in HEAVY] == []
    assert [m for m in modules if m.startswith("carbonlab")] == []


def test_rendering_node_toml_loads_the_models_but_not_the_transport() -> None:
    result = json.loads(_run(RENDER))
    assert "carbonlab.node.config" in result["modules"]
    assert [m for m in result["modules"] if m.split(".")[0] in ("libp2p", "trio", "aioquic")] == []
    raw = tomllib.loads(result["toml"])
    assert raw["member_id"] == "n2"
    assert raw["p2p_listen"] == "/ip4/127.0.0.1/tcp/23011"
    assert raw["api_listen"] == "127.0.0.1:23012"
    assert raw["key_file"] == "keys/n2.key"   # relative to the file, which lives in etc
