"""Start-up (issue 17, item 6): `carbonlab --help` and every subcommand's `--help` import none
of the heavy libraries (libp2p, trio, pymodbus, Ansible, ...) nor the packages behind the
commands; only the command that runs loads what it uses. Behaviour, not time: the times are
`carbonlab bench startup`'s."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("libp2p", "multiaddr", "trio", "httpx", "pymodbus", "asyncio", "ansible", "ansible_runner",
         "pyinfra", "matplotlib", "starlette", "hypercorn", "uvicorn", "grafana_client", "yaml",
         "cryptography", "msgpack", "sqlite3", "numpy", "scipy", "statsmodels", "prometheus_client")
# the only carbonlab modules building the parser may load: the CLI and the names it lists
LIGHT = ("carbonlab", "carbonlab.errors", "carbonlab.logs", "carbonlab.bench", "carbonlab.bench.options",
         "carbonlab.dashboards", "carbonlab.dashboards.defaults", "carbonlab.lab", "carbonlab.lab.names",
         "carbonlab.node", "carbonlab.node.sim", "carbonlab.node.sim.modes",
         "carbonlab.node.gwp", "carbonlab.node.query_names")

PROBE = """
import contextlib, io, json, sys
from carbonlab.cli import build_parser, main
from carbonlab.cli.bench_startup import command_paths
paths = command_paths(build_parser())
for path in paths:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*path, "--help"])
    assert "usage: carbonlab" in out.getvalue(), path
print(json.dumps({"paths": [list(p) for p in paths], "modules": sorted(sys.modules)}))
"""


def _probe() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_every_help_imports_no_heavy_library_and_no_command_package() -> None:
    result = _probe()
    modules = set(result["modules"])
    assert len(result["paths"]) > 30    # top level, every command and every action
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
    ours = sorted(m for m in modules if m.startswith("carbonlab") and not m.startswith("carbonlab.cli")
                  and m not in LIGHT)
    assert ours == []


def test_a_command_that_runs_still_loads_what_it_uses() -> None:
    probe = ("import sys; from carbonlab.cli import main; "
             "rc = main(['sim', '--seed', '1', '--steps', '5', '--json']); "
             "print('carbonlab.node.sim.world' in sys.modules, 'trio' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.splitlines()[-1] == "True False"


def test_bench_startup_times_every_help_in_a_fresh_process() -> None:
    cli = "import sys; from carbonlab.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", cli, "bench", "startup", "--repeat", "1", "--json"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    commands = [row["command"] for row in result["commands"]]
    assert "carbonlab --help" in commands
    assert "carbonlab ledger bench --help" in commands
    assert len(commands) == len(_probe()["paths"])
    assert all(row["median_s"] > 0 for row in result["commands"])
    assert result["python_bare_s"] > 0
    assert result["target_s"] == 0.3
