"""The grafana role, run for real by ansible-playbook on a local connection into a temp layout.

The role's `provision` entry point writes the provisioning files: the provisioned dashboards must
be exactly the generated ones, the provider and datasource files exactly what
carbonlab.dashboards.provisioning describes; a second run changes nothing; a stale dashboard is
removed. The whole role on a host that cannot reach Grafana's repository says so plainly and
writes nothing. Grafana itself cannot run here (Debian does not package it and this machine has no
route to Grafana's repository), so the service path (start, changed=0 on a second run, the
restart handler on a changed configuration) runs against a stand-in `grafana` server process
that reads the role's grafana.ini and listens where it says; the test kills it by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbonlab.dashboards import build, provisioning
from carbonlab.lab.ansible_run import PLAYBOOKS, parse_output
from carbonlab.loopback import free_loopback_port

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PROMETHEUS_URL = "http://127.0.0.1:19090"
pytestmark = pytest.mark.slow  # ansible-playbook runs: about 10 s each


@dataclass(frozen=True)
class Run:
    output: str  # the default callback's text
    changed: int

    def section(self, header: str) -> str:
        """The output of the task (or handler) whose header line starts with `header`."""
        parts = self.output.split("\n\n")
        found = [p for p in parts if p.startswith(header)]
        return "\n".join(found)


STAND_IN = """#!{python}
import configparser, http.server, sys
ini = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--config=")][0]
server = configparser.ConfigParser()
server.read(ini)
address = (server["server"]["http_addr"], int(server["server"]["http_port"]))
http.server.HTTPServer(address, http.server.BaseHTTPRequestHandler).serve_forever()
"""


def run_role(tmp: Path, tasks_from: str, **extra: Any) -> Run:
    """Run the grafana role (entry point `tasks_from`) on localhost, as the lab runs playbooks."""
    layout = {
        "carbonlab_etc": str(tmp / "etc"),
        "carbonlab_var": str(tmp / "var"),
        "carbonlab_log": str(tmp / "log"),
        "carbonlab_run": str(tmp / "run"),
        "carbonlab_bin": str(Path(sys.executable).parent / "carbonlab"),   # runs the services' supervisor
        "carbonlab_user": "",
        "carbonlab_provider": "local",
        "common_use_systemd": False,
        "grafana_prometheus_url": PROMETHEUS_URL,
        **extra,
    }
    play = [
        {
            "name": "Grafana role under test",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": layout,
            "tasks": [
                {
                    "name": "Run the grafana role",
                    "ansible.builtin.include_role": {"name": "grafana", "tasks_from": tasks_from},
                }
            ],
        }
    ]
    playbook = tmp / f"play-{tasks_from}.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(PLAYBOOKS / "roles"),
        "ANSIBLE_HOME": str(tmp / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
    }
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook)],
        capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    recap = parse_output(done.stdout).recap
    assert set(recap) == {"localhost"}, done.stdout[-4000:]
    return Run(done.stdout, recap["localhost"].changed)


def provisioned(tmp: Path) -> dict[str, str]:
    folder = tmp / "etc" / "grafana" / "dashboards"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_the_role_provisions_exactly_the_generated_dashboards(tmp_path: Path) -> None:
    first = run_role(tmp_path, "provision")
    assert first.changed > 0
    generated = {
        Path(rel).name: text for rel, text in build.artifacts().items() if rel.startswith("dashboards/")
    }
    assert len(generated) == 3
    assert provisioned(tmp_path) == generated
    committed = build.GENERATED_DIR / "dashboards"
    assert {p.name: p.read_text(encoding="utf-8") for p in committed.iterdir()} == generated

    base = tmp_path / "etc" / "grafana" / "provisioning"
    provider = yaml.safe_load((base / "dashboards" / "carbonlab.yml").read_text())
    assert provider == provisioning.dashboards_file(str(tmp_path / "etc" / "grafana" / "dashboards"))
    datasource = yaml.safe_load((base / "datasources" / "carbonlab.yml").read_text())
    assert datasource == provisioning.datasources_file(PROMETHEUS_URL, build.DEFAULT_SCRAPE_INTERVAL)
    # the provider changed, so the restart handler was notified; no Grafana here, so it skipped
    assert "RUNNING HANDLER [grafana : Restart Grafana]" in first.output

    second = run_role(tmp_path, "provision")
    assert second.changed == 0, second.output[-3000:]
    assert "RUNNING HANDLER" not in second.output


def test_a_stale_dashboard_is_removed_and_an_edited_one_restored(tmp_path: Path) -> None:
    run_role(tmp_path, "provision")
    folder = tmp_path / "etc" / "grafana" / "dashboards"
    (folder / "carbonlab-old.json").write_text("{}")
    (folder / "carbonlab-rig.json").write_text('{"edited": true}')
    again = run_role(tmp_path, "provision")
    assert again.changed == 2
    assert sorted(provisioned(tmp_path)) == ["carbonlab-consensus.json", "carbonlab-emissions.json",
                                             "carbonlab-rig.json"]
    assert json.loads((folder / "carbonlab-rig.json").read_text())["uid"] == "carbonlab-rig"
    assert run_role(tmp_path, "provision").changed == 0


def test_no_prometheus_url_provisions_no_datasource(tmp_path: Path) -> None:
    run_role(tmp_path, "provision", grafana_prometheus_url="")
    path = tmp_path / "etc" / "grafana" / "provisioning" / "datasources" / "carbonlab.yml"
    assert yaml.safe_load(path.read_text()) == {"apiVersion": 1, "datasources": []}


def test_an_empty_dashboards_source_fails_plainly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssertionError, match=r"holds no dashboard \*\.json"):
        run_role(tmp_path, "provision", grafana_dashboards_src=str(tmp_path / "empty"))
    assert not (tmp_path / "etc" / "grafana" / "dashboards").exists()


def test_without_grafana_or_its_repository_the_role_says_so_and_skips(tmp_path: Path) -> None:
    result = run_role(
        tmp_path, "main", grafana_binary=str(tmp_path / "no-grafana"), grafana_repo_reachable=False
    )
    said = result.section("TASK [grafana : Say plainly that Grafana is skipped]")
    assert "Grafana is SKIPPED on localhost" in said, result.output[-3000:]
    assert "no root to install packages" in said
    assert result.changed == 0
    assert not (tmp_path / "etc").exists()


def pid_of(tmp: Path) -> int:
    return int((tmp / "run" / "grafana.pid").read_text())


def supervisor_of(tmp: Path) -> int:
    """The PID of the supervisor the role started for Grafana (it restarts a killed Grafana)."""
    return int((tmp / "run" / "grafana.supervisor.pid").read_text())


def test_the_role_runs_grafana_and_restarts_it_on_a_changed_configuration(tmp_path: Path) -> None:
    binary = tmp_path / "bin" / "grafana"  # comm "grafana", as the test looks for it
    binary.parent.mkdir()
    binary.write_text(STAND_IN.format(python=sys.executable))
    binary.chmod(0o755)
    for folder in ("var", "log", "run"):
        (tmp_path / folder).mkdir()
    role = {"grafana_binary": str(binary), "grafana_port": free_loopback_port()}
    started: list[int] = []
    supervisors: list[int] = []
    try:
        first = run_role(tmp_path, "main", **role)
        started.append(pid_of(tmp_path))
        supervisors.append(supervisor_of(tmp_path))
        assert "RUNNING HANDLER [grafana : Restart Grafana]" in first.output
        assert "Grafana is SKIPPED" not in first.output
        assert provisioned(tmp_path) == {
            Path(rel).name: text for rel, text in build.artifacts().items() if rel.startswith("dashboards/")
        }
        ini = (tmp_path / "etc" / "grafana" / "grafana.ini").read_text()
        assert f"provisioning = {tmp_path / 'etc' / 'grafana' / 'provisioning'}" in ini

        second = run_role(tmp_path, "main", **role)
        assert second.changed == 0, second.output[-3000:]
        assert pid_of(tmp_path) == started[0]  # left running, not restarted

        provider = tmp_path / "etc" / "grafana" / "provisioning" / "dashboards" / "carbonlab.yml"
        edited = provider.read_text().replace("updateIntervalSeconds: 30", "updateIntervalSeconds: 1")
        provider.write_text(edited)
        third = run_role(tmp_path, "main", **role)
        started.append(pid_of(tmp_path))
        supervisors.append(supervisor_of(tmp_path))
        assert "RUNNING HANDLER [grafana : Restart Grafana]" in third.output
        assert started[1] != started[0], "a changed provider did not restart Grafana"
        assert not Path(f"/proc/{started[0]}").exists() or "grafana" not in Path(
            f"/proc/{started[0]}/comm").read_text()
        assert "updateIntervalSeconds: 30" in provider.read_text()
    finally:
        # the supervisors first (SIGKILL takes the child along), else they would start Grafana again
        for pid in [*supervisors, *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
